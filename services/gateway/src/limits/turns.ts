// Turns at a shared resource (replays): at most `max` run at once, the rest wait in
// the order they asked. A waiter that gives up (its subscription closed) leaves the
// line without ever running.

interface Waiter {
  gaveUp: () => boolean;
  resolve: (release: (() => void) | null) => void;
}

export class Turns {
  private running = 0;
  // A queue read from `head`: a reconnect storm puts tens of thousands in line, and
  // Array.shift moves every one of them for each turn given.
  private line: Waiter[] = [];
  private head = 0;

  constructor(private readonly max: number) {}

  get stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.line.length - this.head };
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
    const kept: Waiter[] = [];
    for (let i = this.head; i < this.line.length; i++) {
      const w = this.line[i]!;
      if (w.gaveUp()) w.resolve(null);
      else kept.push(w);
    }
    this.line = kept;
    this.head = 0;
  }

  private next(): void {
    while (this.running < this.max && this.head < this.line.length) {
      const w = this.line[this.head]!;
      this.line[this.head++] = undefined as unknown as Waiter;
      // Compacted once the part read is most of it: amortized O(1) a turn.
      if (this.head > 1024 && this.head * 2 > this.line.length) {
        this.line = this.line.slice(this.head);
        this.head = 0;
      }
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
