// A Redis transaction whose first failed command fails it all (ioredis
// reports each command's error beside its result).

export async function exec(multi) {
  const results = await multi.exec();
  for (const [err] of results ?? []) {
    if (err) {
      throw err;
    }
  }
  return results;
}
