// util/demo's way in: starts the stack in DIR on the DEMO_*_PORT ports
// (8080-8084, Redis 6399) and exits, leaving it running; the pid files in
// DIR (nginx.pid, redis.pid, auth/server.pid) are how it is stopped.
//
//   node contrib/stack/cli.js DIR

import { PortInUse, startStack } from './stack.js';

const env = (name, port) => Number(process.env[`DEMO_${name}_PORT`] ?? port);

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node contrib/stack/cli.js DIR');
  process.exit(2);
}

try {
  const stack = await startStack({
    dir,
    detach: true,
    ports: {
      gateway: env('GATEWAY', 8080),
      backend: env('BACKEND', 8081),
      nocache: env('NOCACHE', 8082),
      auth: env('AUTH', 8083),
      app: env('APP', 8084),
      redis: env('REDIS', 6399),
    },
  });
  stack.redis.disconnect();
} catch (e) {
  console.error(e instanceof PortInUse
    ? `demo: ${e.message}; set DEMO_*_PORT to free ports`
    : `demo: ${e.message}`);
  process.exit(1);
}
