// Who is interested in what: each channel's open subscriptions, filed by the value their
// filter wants (InterestIndex), and each signed-in user's sockets with the membership
// history they share. Opening, closing and resyncing a subscription happen here only.
import type { ResyncReason } from '@realtime/protocol';
import { MembershipLog } from '../auth/membership';
import * as metrics from '../metrics';
import type { Turns } from '../limits/turns';
import type { Counters, GatewaySocket } from '../connections/socket';
import { InterestIndex } from './interest';
import type { Subscription } from './subscription';

/** One signed-in user's sockets on this gateway and their membership history, shared by those sockets. */
interface UserEntry {
  log: MembershipLog;
  sockets: Set<GatewaySocket>;
  /** Resolves once the history up to the feed position at creation is loaded. */
  ready: Promise<void>;
  /** Turns of this user's replays, across their sockets (maxReplaysPerUser). */
  replays: Turns;
}

/** Whether one more socket of a user fits: checked and added in one step, so racing handshakes cannot both take the last place. */
export const socketFits = (open: number, max: number): boolean => open < max;

/**
 * A user's sockets counted across gateways (REDIS_URL): a place taken for each socket,
 * given back when it leaves. Null when the count is not there to ask (Redis away): the
 * gateway's own count decides alone.
 */
export interface SharedSockets {
  take(userId: string, socketId: string, max: number): Promise<{ taken: boolean } | null>;
  drop(userId: string, socketId: string): Promise<void>;
}

export interface RegistryOptions {
  /** The gateway's replay turns: a subscription closed while waiting for one leaves the line at once. */
  turns: Turns;
  counters: Counters;
  maxSocketsPerUser: number;
  /** A fresh user's turns (maxReplaysPerUser). */
  newReplayTurns: () => Turns;
  /** Reads a user's history into a fresh log; events after the feed position come through dispatch. */
  loadHistory: (userId: string, log: MembershipLog) => Promise<void>;
  /** The user's sockets on every gateway (REDIS_URL); without it, those on this one only. */
  shared?: SharedSockets;
}

export class Registry {
  private readonly byChannel = new Map<string, InterestIndex<Subscription>>();
  private readonly users = new Map<string, UserEntry>();

  constructor(private readonly opts: RegistryOptions) {}

  get subscriptions(): number {
    let n = 0;
    for (const index of this.byChannel.values()) n += index.size;
    return n;
  }

  /** Joins the live feed: from now on whatever the feed delivers for it reaches its seam. */
  open(sub: Subscription): void {
    sub.socket.data.subs.set(sub.id, sub);
    let index = this.byChannel.get(sub.channel);
    if (!index) this.byChannel.set(sub.channel, (index = new InterestIndex<Subscription>(sub.table.projectColumn)));
    index.add(sub);
  }

  /** The subscriptions of a channel that can match a change with these rows (routing decides exactly). */
  candidates(channel: string, newRow: Record<string, unknown> | null, oldRow: Record<string, unknown> | null): Subscription[] | null {
    const index = this.byChannel.get(channel);
    if (!index || index.size === 0) return null;
    return index.candidates(newRow, oldRow);
  }

  close(sub: Subscription): void {
    sub.closed = true;
    this.byChannel.get(sub.channel)?.delete(sub);
    sub.socket.data.subs.delete(sub.id);
    // A replay still waiting for its turn leaves the line now.
    if (this.opts.turns.stats.waiting > 0) this.opts.turns.sweep();
    if (sub.socket.data.pages?.stats.waiting > 0) sub.socket.data.pages.sweep();
    if (sub.socket.data.replays?.stats.waiting > 0) sub.socket.data.replays.sweep();
  }

  /** Closed, and its client told to start over from a fresh list. */
  resync(sub: Subscription, reason: ResyncReason, headSeq: number): void {
    if (sub.closed) return;
    this.opts.counters.resyncs++;
    metrics.resyncsTotal.inc({ reason });
    this.close(sub);
    sub.socket.emit('resync', { sub: sub.id, reason, headSeq });
  }

  /** Every subscription of a socket closed (it left or was ended). */
  closeAll(socket: GatewaySocket): void {
    for (const sub of socket.data.subs?.values() ?? []) this.close(sub);
    socket.data.subs?.clear();
  }

  /**
   * Registers the socket under its user (the first socket of a user loads their history)
   * and answers the user's replay turns; 'refused' when the user has every socket they may.
   */
  async attachUser(userId: string, socket: GatewaySocket): Promise<Turns | 'refused'> {
    let entry = this.users.get(userId);
    if (!entry) {
      const log = new MembershipLog();
      const ready = this.opts.loadHistory(userId, log);
      const created: UserEntry = { log, sockets: new Set(), ready, replays: this.opts.newReplayTurns() };
      entry = created;
      this.users.set(userId, created);
      ready.catch(() => {
        if (this.users.get(userId) === created && created.sockets.size === 0) this.users.delete(userId);
      });
    }
    if (!socketFits(entry.sockets.size, this.opts.maxSocketsPerUser)) return 'refused';
    entry.sockets.add(socket);
    // This gateway's count first (held here, so racing handshakes cannot both take its last
    // place), then every gateway's: a place on each of two gateways is still two.
    const shared = this.opts.shared ? await this.opts.shared.take(userId, socket.id, this.opts.maxSocketsPerUser) : null;
    if (shared && !shared.taken) {
      this.detachUser(userId, socket);
      return 'refused';
    }
    try {
      await entry.ready;
    } catch (err) {
      // The next socket of this user tries again with a fresh read.
      if (this.users.get(userId) === entry) this.users.delete(userId);
      throw new Error(`the gateway could not read your memberships (${(err as Error).message}); try again`);
    }
    return entry.replays;
  }

  detachUser(userId: string, socket: GatewaySocket): void {
    // Never throws: a place not given back (Redis away) lapses with its lease.
    void this.opts.shared?.drop(userId, socket.id);
    const entry = this.users.get(userId);
    if (!entry) return;
    entry.sockets.delete(socket);
    if (entry.sockets.size === 0) this.users.delete(userId);
  }

  /** The user's membership history, or null for a service token. */
  membershipOf(socket: GatewaySocket): MembershipLog | null {
    const p = socket.data.principal;
    return p.kind === 'user' ? (this.users.get(p.userId)?.log ?? null) : null;
  }

  /** A connected user's history and sockets, for a grant or revocation from the feed; null when not connected here. */
  user(userId: string): { log: MembershipLog; sockets: ReadonlySet<GatewaySocket> } | null {
    return this.users.get(userId) ?? null;
  }
}
