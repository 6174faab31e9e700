// Turns at a shared resource (replays): at most `max` run at once, the rest wait in
// the order they asked. A waiter that gives up (its subscription closed) leaves the
// line without ever running.

interface Waiter {
  gaveUp: () => boolean;
  resolve: (release: (() => void) | null) => void;
}

export class Turns {
  private running = 0;
  private readonly line: Waiter[] = [];

  constructor(private readonly max: number) {}

  get stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.line.length };
  }

  /**
   * Resolves with a release function once it is this caller's turn, or with null when
   * `gaveUp` answers true first (asked when the line reaches it, and by `sweep`).
   */
  take(gaveUp: () => boolean = () => false): Promise<(() => void) | null> {
    return new Promise((resolve) => {
      this.line.push({ gaveUp, resolve });
      this.next();
    });
  }

  /** Lets waiters that gave up leave now, rather than when the line reaches them. */
  sweep(): void {
    for (let i = this.line.length - 1; i >= 0; i--) {
      const w = this.line[i]!;
      if (w.gaveUp()) {
        this.line.splice(i, 1);
        w.resolve(null);
      }
    }
  }

  private next(): void {
    while (this.running < this.max && this.line.length) {
      const w = this.line.shift()!;
      if (w.gaveUp()) {
        w.resolve(null);
        continue;
      }
      this.running++;
      let released = false;
      w.resolve(() => {
        if (released) return;
        released = true;
        this.running--;
        this.next();
      });
    }
  }
}
