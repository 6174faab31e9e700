// Which WAL positions may be acknowledged, when stamps commit without waiting for their
// flush. A stamp's changes are delivered as soon as it commits; the slot is told to
// forget their transactions only once the stamp is on disk. Until then, a crash of
// Postgres that loses the stamp leaves the slot able to send those transactions again,
// and the next leader numbers them exactly as this one did (docs/replicator.md,
// "Off the live path").
//
// Pure bookkeeping: the caller asks Postgres where its WAL is inserted and flushed up
// to, on the session that stamps, and hands the answer here.

interface Waiting {
  /** Commit end of the last whole transaction the stamp covered. */
  ackTo: bigint;
  /** An insert position at or past the stamp's commit record, once one was read after it. */
  bound: bigint | null;
}

export class DurableAcks {
  private waiting: Waiting[] = [];

  /** Stamps whose acknowledgement waits for the disk. */
  get pending(): number {
    return this.waiting.length;
  }

  /** A stamp returned (so its commit record is in the WAL) and covered transactions up to `ackTo`. */
  stamped(ackTo: bigint): void {
    this.waiting.push({ ackTo, bound: null });
  }

  /**
   * Call as the position query is sent: the stamps that returned before it are the ones
   * its insert position bounds. Returns the token to hand to `settle`.
   */
  asking(): number {
    return this.waiting.length;
  }

  /**
   * The answer to the query sent at `asking()`: the WAL was inserted up to `insert` and
   * flushed up to `flush`. Returns the furthest position that may now be acknowledged,
   * or null when none may yet; stamps are settled in order, never past one still waiting.
   */
  settle(asked: number, insert: bigint, flush: bigint): bigint | null {
    for (let i = 0; i < asked && i < this.waiting.length; i++) this.waiting[i]!.bound ??= insert;
    let to: bigint | null = null;
    while (this.waiting.length > 0) {
      const first = this.waiting[0]!;
      if (first.bound === null || first.bound > flush) break;
      to = first.ackTo;
      this.waiting.shift();
    }
    return to;
  }
}
