// Can the user Postgres runs as reach a path? Root runs Postgres as `postgres`, which
// must be able to enter every folder above its binaries and data: pure permission logic.

export interface PathStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

export interface Identity {
  uid: number;
  gid: number;
}

type Need = 'x' | 'r' | 'w';
const bit: Record<Need, number> = { r: 4, w: 2, x: 1 };

export function allows(stat: PathStat, who: Identity, need: Need): boolean {
  if (who.uid === 0) return true;
  const shift = stat.uid === who.uid ? 6 : stat.gid === who.gid ? 3 : 0;
  return ((stat.mode >> shift) & bit[need]) !== 0;
}

/**
 * The first folder on the way to a target that `who` may not enter, or null when
 * every ancestor (given root first, target last) grants search permission and the
 * target itself grants `need`.
 */
export function firstBlocked(chain: PathStat[], who: Identity, need: Need): PathStat | null {
  for (const [i, stat] of chain.entries()) {
    const isTarget = i === chain.length - 1;
    if (!allows(stat, who, isTarget ? need : 'x')) return stat;
  }
  return null;
}
