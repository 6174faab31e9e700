// A seeded generator (mulberry32): the same seed gives the same plan, the same writer
// choices and the same subscriber set, so a failing run can be run again. Timing across
// processes is not part of the seed.
export interface Rng {
  (): number;
  int(min: number, max: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  fork(salt: number): Rng;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Rng;
  next.int = (min, max) => min + Math.floor(next() * (max - min + 1));
  next.pick = (xs) => {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[Math.floor(next() * xs.length)]!;
  };
  next.chance = (p) => next() < p;
  next.fork = (salt) => rng((seed ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  return next;
}
