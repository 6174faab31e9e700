// Fans a stamped feed batch out to the interested sockets: membership and session changes
// first (they change who may see what), then each change to the subscriptions the
// interest index offers it to, held in the seam while a replay runs, and finally one
// message per subscription for the whole batch.
import type { FeedChange } from '../feed';
import { grantWithNewProject, membershipEvent } from '../auth/membership';
import { SESSION_ENDS_TABLE } from '../auth/sessions';
import type { ChannelCatalog } from '../channels';
import type { Connections } from '../connections/connections';
import { who, type Counters } from '../connections/socket';
import { heldOver, type GatewayLimits } from '../limits/limits';
import type { LimitNotes } from '../limits/notes';
import * as metrics from '../metrics';
import type { Registry } from '../subscriptions/registry';
import { covers, type Subscription } from '../subscriptions/subscription';
import { apiRows, subscriberEvent } from './event';
import { send } from './send';

export interface DispatcherOptions {
  registry: Registry;
  connections: Connections;
  channels: Pick<ChannelCatalog, 'get'>;
  limits: GatewayLimits;
  notes: LimitNotes;
  counters: Counters;
  /** The feed's position: the head a resync names. */
  position: () => number;
  now?: () => number;
}

export class Dispatcher {
  private readonly now: () => number;

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? Date.now;
  }

  dispatch(batch: FeedChange[]): void {
    const { registry, counters, limits, notes } = this.opts;
    const touched: Subscription[] = [];
    for (let at = 0; at < batch.length; at++) {
      const change = batch[at]!;
      if (change.table === 'project_members') this.applyMembership(batch, at);
      else if (change.table === SESSION_ENDS_TABLE) this.opts.connections.sessions.apply(change);
      // Only the subscriptions that can match: a thousand pages open on other projects
      // cost this change nothing.
      const subs = registry.candidates(change.table, change.newRow, change.oldRow);
      if (!subs) continue;
      counters.offered += subs.length;
      // Every subscriber of the channel shares one API form of the rows (in the catalog's
      // newest shape; a table no longer streamed keeps the shape its subscribers had).
      const table = this.opts.channels.get(change.table) ?? subs[0]?.table;
      if (!table) continue;
      const api = apiRows(table, change);
      for (const sub of subs) {
        if (sub.closed) continue;
        const event = subscriberEvent(registry, sub, change, api);
        if (!event) continue;
        // Live changes wait while a replay runs; a replay that falls that far behind the
        // live stream is cheaper to restart from a fresh list than to buffer without end.
        if (!sub.seam.isLive) {
          sub.heldBytes += change.rowBytes;
          if (heldOver(sub.heldBytes, limits)) {
            notes.hit('socket_queue_bytes', who(sub.socket));
            registry.resync(sub, 'slow-client', this.opts.position());
            continue;
          }
        }
        for (const e of sub.seam.live(event)) {
          if (!sub.pending) {
            sub.pending = { changes: [], first: change };
            touched.push(sub);
          }
          sub.pending.changes.push(e);
        }
      }
    }
    this.flush(touched);
  }

  /**
   * One message per subscription for the whole feed batch, and one set of metrics per
   * message: a subscriber of a busy project costs one emit per batch, not per change.
   */
  private flush(touched: Subscription[]): void {
    const now = this.now();
    for (const sub of touched) {
      const pending = sub.pending!;
      sub.pending = null;
      if (sub.closed) continue;
      if (this.opts.connections.over(sub.socket)) {
        this.opts.connections.slow(sub.socket);
        continue;
      }
      send(sub, pending.changes);
      metrics.changesSent.inc(pending.changes.length);
      metrics.batchesSent.inc();
      // The batch's oldest change: what its slowest change waited.
      metrics.deliveryLatency.observe(Math.max(0, now - Date.parse(pending.first.committedAt)) / 1000);
      if (pending.first.fedAt) metrics.fanoutLatency.observe(Math.max(0, now - pending.first.fedAt) / 1000);
    }
  }

  /** A grant or revocation of a connected user: into their history, and a resync of what it changes. */
  private applyMembership(batch: FeedChange[], at: number): void {
    const change = batch[at]!;
    const m = membershipEvent(change);
    const entry = m && this.opts.registry.user(m.userId);
    if (!m || !entry) return;
    entry.log.add(m.event);
    if (!entry.log.flips(m.event)) return;
    // The creator of a new project: its rows all follow, live, so nothing to refetch.
    if (m.event.role !== null && grantWithNewProject(batch, at, m.event.projectId)) return;
    for (const socket of entry.sockets) {
      for (const sub of [...socket.data.subs.values()]) {
        if (covers(sub, m.event.projectId)) this.opts.registry.resync(sub, 'membership', change.seq);
      }
    }
  }
}
