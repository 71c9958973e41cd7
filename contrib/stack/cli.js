// util/demo's way in: starts the stack in DIR on the ports util/demo
// chose (DEMO_GATEWAY_PORT, ... DEMO_REDIS_PORT, all of them) and exits,
// leaving it running; the pid files in DIR (nginx.pid, redis.pid,
// auth/server.pid) are how it is stopped.
//
//   node contrib/stack/cli.js DIR

import { PortInUse, startStack } from './stack.js';

const env = (name) => Number(process.env[`DEMO_${name}_PORT`]);

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
      gateway: env('GATEWAY'),
      backend: env('BACKEND'),
      nocache: env('NOCACHE'),
      auth: env('AUTH'),
      app: env('APP'),
      redis: env('REDIS'),
    },
  });
  stack.redis.disconnect();
} catch (e) {
  console.error(e instanceof PortInUse
    ? `demo: ${e.message}; set DEMO_*_PORT to free ports`
    : `demo: ${e.message}`);
  process.exit(1);
}
