// A clock a test moves by hand: `now` and timers that fire only when advance() passes
// their time, in order. Injected as `{ now, timers }`, it lets a test say "nothing happens
// until then" without sleeping, and "at exactly then" without a timed assertion.
import type { Timers } from '../types.js';

export class ManualClock {
  private t: number;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  readonly timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = ++this.seq;
      this.due.set(id, { at: this.t + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout: (handle) => {
      this.due.delete(handle as number);
    },
  };

  /** Moves time on by `ms`, running each timer that falls due on the way, in the order they fall due. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const d of this.due) if (d[1].at <= end && (!next || d[1].at < next[1].at)) next = d;
      if (!next) break;
      this.due.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }

  /** The armed timers, as how long until each fires, soonest first. */
  get pending(): number[] {
    return [...this.due.values()].map((d) => d.at - this.t).sort((a, b) => a - b);
  }
}
