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

// a set that indexes keys lives as long as the longest-lived of them
export function extendTtl(multi, key, seconds) {
  return multi.expire(key, seconds, 'NX').expire(key, seconds, 'GT');
}
