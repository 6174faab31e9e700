// Leases counted across processes: one sorted set per owner (a user's sockets, an
// address's sign-ins in flight), each member a lease of one process, scored by when it
// lapses. A process renews all of its leases on a timer and drops each when done; a
// process that dies without dropping them loses them within one lease.
import { randomUUID } from 'node:crypto';
import { leaseExpiry, leaseMember, leaseSetKey, renewEveryMs } from './keys';
import type { SharedRedis } from './redis';
import { LEASE_SCRIPT, LEASE_SHA, pairReply } from './scripts';

export interface LeasesOptions {
  redis: SharedRedis;
  /** The kind of lease, the middle of its key: `sockets`, `attempts`. */
  set: string;
  /** How long a lease lasts unrenewed (default 30 s): a killed process's leases free within it. */
  leaseMs?: number;
  now?: () => number;
  /** Names this process in its members (default: a fresh UUID). */
  processId?: string;
}

/** A lease asked for: taken or refused, and how many the owner holds now; null when Redis did not answer. */
export type LeaseReply = { taken: boolean; held: number } | null;

interface Held {
  key: string;
  member: string;
}

export class Leases {
  readonly leaseMs: number;
  readonly processId: string;
  private readonly redis: SharedRedis;
  private readonly set: string;
  private readonly now: () => number;
  /** Every lease this process holds or is asking for, by key and member: what renew() sends. */
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: LeasesOptions) {
    this.redis = opts.redis;
    this.set = opts.set;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.processId = opts.processId ?? randomUUID();
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * A lease for `id` under `owner` when the owner holds fewer than `max` (null: no bound).
   * Null when Redis does not answer: the caller decides in its process, and the lease is
   * kept here anyway, so that the next renewal after Redis is back counts it again.
   */
  async take(owner: string, id: string, max: number | null): Promise<LeaseReply> {
    const h = this.entry(owner, id);
    const handle = `${h.key} ${h.member}`;
    this.held.set(handle, h);
    const reply = await this.send(h, max);
    if (reply === null) return null;
    const [taken, held] = pairReply(reply, 'lease');
    if (!this.held.has(handle)) {
      // Dropped while Redis answered: the lease it just took goes too.
      if (taken === 1) await this.redis.run((c) => c.zRem(h.key, h.member));
      return { taken: taken === 1, held };
    }
    if (taken !== 1) this.held.delete(handle);
    return { taken: taken === 1, held };
  }

  /** The lease is given back (a lost reply leaves it to lapse). */
  async drop(owner: string, id: string): Promise<void> {
    const h = this.entry(owner, id);
    if (!this.held.delete(`${h.key} ${h.member}`)) return;
    await this.redis.run((c) => c.zRem(h.key, h.member));
  }

  /** Every lease held, renewed in one round trip (node-redis pipelines the calls of one turn). */
  async renew(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => this.send(h, null)));
  }

  /** Renews every lease on a timer, a third of a lease apart. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), renewEveryMs(this.leaseMs));
    this.timer.unref();
  }

  /** Stops renewing and gives back every lease: the other processes get the places at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const all = [...this.held.values()];
    this.held.clear();
    await Promise.all(all.map((h) => this.redis.run((c) => c.zRem(h.key, h.member))));
  }

  private entry(owner: string, id: string): Held {
    return { key: leaseSetKey(this.redis.prefix, this.set, owner), member: leaseMember(this.processId, id) };
  }

  private send(h: Held, max: number | null): Promise<unknown> {
    const now = this.now();
    return this.redis.script(LEASE_SHA, LEASE_SCRIPT, [h.key], [String(now), String(leaseExpiry(now, this.leaseMs)), max === null ? '' : String(max), h.member]);
  }
}
