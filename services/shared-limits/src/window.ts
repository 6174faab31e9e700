// The per-process fallback of a shared counter: fixed windows in memory, as
// @fastify/rate-limit's own store counts. Time comes in as `now`; the map is bounded.

interface Entry {
  current: number;
  endsAt: number;
}

export class WindowCounts {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxKeys = 100_000) {}

  /** Counts one more for `key`; a window starts with its first count and lasts `windowMs`. */
  incr(key: string, now: number, windowMs: number): { current: number; ttl: number } {
    let e = this.live(key, now);
    if (!e) {
      e = { current: 0, endsAt: now + windowMs };
      // Past the bound the oldest key goes: a spray of keys costs counts of old keys, never memory.
      if (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, e);
    }
    e.current++;
    return { current: e.current, ttl: e.endsAt - now };
  }

  /** What `key` has counted in its window, without counting. */
  read(key: string, now: number): { current: number; ttl: number } {
    const e = this.live(key, now);
    return e ? { current: e.current, ttl: e.endsAt - now } : { current: 0, ttl: 0 };
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.endsAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }
}
