// The ring of recent feed batches: the last changes the live feed handed on, held in seq
// order so that a replay of a recent range (a reconnect storm after a restart of another
// gateway, a network blip) is served from memory instead of the outbox. Bounded by a
// count and by the bytes of the row images (`rowBytes`); the oldest go first.
import type { LoggedChange } from '../feed';
import { PageBuilder, type MemoryPage } from './pick';

export interface RingBounds {
  /** At most this many changes (0: the ring holds nothing). */
  changes: number;
  /** At most this many bytes of row images. */
  bytes: number;
}

export class ReplayRing<T extends LoggedChange = LoggedChange> {
  private items: T[] = [];
  /** Index of the oldest held change in `items` (the ones before it are dropped). */
  private start = 0;
  private heldBytes = 0;
  /** The feed position the ring has seen: every change up to it went through push(). */
  private last: number;

  constructor(
    private readonly bounds: RingBounds,
    position = 0,
  ) {
    this.last = position;
  }

  /** The highest seq the ring has seen. */
  get position(): number {
    return this.last;
  }

  /** The oldest seq held; position + 1 when it holds none. */
  get first(): number {
    return this.last - this.size + 1;
  }

  get size(): number {
    return this.items.length - this.start;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** Whether its bounds let it hold anything (REPLAY_RING_CHANGES=0 holds nothing). */
  get enabled(): boolean {
    return this.bounds.changes > 0 && this.bounds.bytes > 0;
  }

  /** Forgets everything and starts at `position` (the feed's, when the ring is attached to it). */
  reset(position: number): void {
    this.items = [];
    this.start = 0;
    this.heldBytes = 0;
    this.last = position;
  }

  /** A feed batch: dense seqs following on from the position (anything else starts the ring over). */
  push(batch: readonly T[]): void {
    if (batch.length === 0) return;
    if (batch[0]!.seq !== this.last + 1) this.reset(batch[0]!.seq - 1);
    for (const c of batch) {
      if (c.seq !== this.last + 1) this.reset(c.seq - 1);
      this.items.push(c);
      this.heldBytes += c.rowBytes;
      this.last = c.seq;
    }
    while (this.size > 0 && (this.size > this.bounds.changes || this.heldBytes > this.bounds.bytes)) {
      this.heldBytes -= this.items[this.start]!.rowBytes;
      this.start++;
    }
    // Dropped entries are let go in bulk: each change is copied at most about once more.
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  /** Whether every change in (after, position] is held. */
  covers(after: number): boolean {
    return Number.isSafeInteger(after) && after >= this.first - 1 && after <= this.last;
  }

  /**
   * A page of (after, upTo] as the outbox's page query would size it, from what is held:
   * the changes `picks` keeps, at most `limit`, within `maxBytes` (at least one). It ends
   * at the position when upTo is beyond it (`through` says where). Requires covers(after).
   */
  slice(after: number, upTo: number, limit: number, maxBytes: number, picks: (c: T) => boolean = () => true): MemoryPage<T> {
    if (!this.covers(after)) throw new RangeError(`the ring holds seqs ${this.first}..${this.last}, not every one after ${after}`);
    const b = new PageBuilder<T>({ after, upTo, limit, maxBytes }, picks);
    const end = Math.min(upTo, this.last);
    for (let seq = after + 1; seq <= end; seq++) {
      if (!b.offer(this.items[this.start + seq - this.first]!)) break;
    }
    const page = b.page();
    // Cut at the position, not at upTo: what follows is read from elsewhere.
    return { ...page, more: page.through < upTo };
  }
}
