// The replay/live seam of one subscription. Live changes that arrive while the backlog
// is replayed wait in a buffer; replay covers everything up to a head read after the
// subscription joined the live feed, so buffer and replay overlap and never leave a gap.
// Whatever replay covered is dropped from the buffer; the rest follows in seq order.

export interface Sequenced {
  seq: number;
}

export class Seam<T extends Sequenced> {
  private phase: 'replay' | 'live' = 'replay';
  private buffer: T[] = [];
  /** Highest seq handed on (or covered by replay). Nothing at or below it is sent again. */
  private last: number;

  constructor(since: number) {
    this.last = since;
  }

  get isLive(): boolean {
    return this.phase === 'live';
  }

  get buffered(): number {
    return this.buffer.length;
  }

  get position(): number {
    return this.last;
  }

  /** A change from the live feed: returned when it is to be sent now. */
  live(change: T): T[] {
    if (this.phase === 'replay') {
      this.buffer.push(change);
      return [];
    }
    if (change.seq <= this.last) return [];
    this.last = change.seq;
    return [change];
  }

  /** A page of replayed changes, in seq order: those not sent yet. */
  replayed(page: T[]): T[] {
    const fresh = page.filter((c) => c.seq > this.last);
    if (fresh.length) this.last = fresh[fresh.length - 1]!.seq;
    return fresh;
  }

  /** Replay is done and covered every seq up to `coveredTo`: the buffered rest, then live. */
  goLive(coveredTo: number): T[] {
    this.last = Math.max(this.last, coveredTo);
    const rest = this.buffer.filter((c) => c.seq > this.last).sort((a, b) => a.seq - b.seq);
    const out: T[] = [];
    for (const c of rest) {
      if (c.seq > this.last) {
        this.last = c.seq;
        out.push(c);
      }
    }
    this.buffer = [];
    this.phase = 'live';
    return out;
  }
}
