// What the outbox has shown the live feed that the shared log has not delivered yet, and
// since when. Each head gets the whole grace (`lagMs`) from the moment the outbox showed
// it: under steady writes a new head shows every few milliseconds, and a single deadline
// for "the highest head seen" would expire moments after the newest one showed, sending a
// gateway whose log is on time back to the outbox for it. Pure, with the clock passed in.

export class OwedHeads {
  /** Heads the outbox showed, ascending, each with when it first showed; those before `first` are settled. */
  private heads: { head: number; at: number }[] = [];
  private first = 0;

  constructor(readonly lagMs: number) {}

  /** Heads owed now. */
  get size(): number {
    return this.heads.length - this.first;
  }

  /** When the oldest head owed is due (when it showed, plus the grace); null when none is owed. */
  get due(): number | null {
    const oldest = this.heads[this.first];
    return oldest === undefined ? null : oldest.at + this.lagMs;
  }

  /** The outbox shows `head` at `now`, while the feed is at `position`. */
  owe(head: number, now: number, position: number): void {
    this.delivered(position);
    const last = this.heads[this.heads.length - 1];
    if (head <= position || (last !== undefined && this.size > 0 && head <= last.head)) return;
    this.heads.push({ head, at: now });
  }

  /** The feed reached `position`: what it covers is no longer owed. */
  delivered(position: number): void {
    while (this.first < this.heads.length && this.heads[this.first]!.head <= position) this.first++;
    if (this.first === this.heads.length) {
      this.heads = [];
      this.first = 0;
    } else if (this.first > 256 && this.first * 2 > this.heads.length) {
      this.heads = this.heads.slice(this.first);
      this.first = 0;
    }
  }

  /**
   * Whether a head owed at `position` has waited its whole grace by `now`: the log lags,
   * and the outbox is read. What is owed is then settled, as that read covers it.
   */
  overdue(now: number, position: number): boolean {
    this.delivered(position);
    const due = this.due;
    if (due === null || now < due) return false;
    this.clear();
    return true;
  }

  clear(): void {
    this.heads = [];
    this.first = 0;
  }
}
