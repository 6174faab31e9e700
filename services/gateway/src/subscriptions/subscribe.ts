// A subscribe from acknowledgement to live: the request checked (rate, size, schema,
// channel, filter, grant, cap), the subscription opened on the live feed first, then
// admitted to replay (admit.ts), and its replay run within the user's and the gateway's
// turns. An unsubscribe closes it.
import { randomUUID } from 'node:crypto';
import { JSON_DEPTH_LIMIT, measureJson } from '@realtime/db';
import type { Logger } from '@realtime/runtime';
import type { Change, SubscribeAck, UnsubscribeAck } from '@realtime/protocol';
import { describeIssues, subscribeSchema, unsubscribeSchema } from '@realtime/protocol/validate';
import { CursorError, StaleCursorError, decodeCursor, type Cursor } from '@realtime/auth';
import type { Feed } from '../feed';
import type { ChannelCatalog } from '../channels';
import { fail, type Connections } from '../connections/connections';
import { who, type GatewaySocket } from '../connections/socket';
import type { GatewayLimits } from '../limits/limits';
import type { LimitNotes } from '../limits/notes';
import type { Turns } from '../limits/turns';
import { admitResume, type Admission } from '../replay/admit';
import type { ResumeReads } from '../replay/reader';
import { noteHistoryChanged, type Replayer } from '../replay/replayer';
import { Seam } from '../replay/seam';
import { columnFilter } from './filter';
import type { Registry } from './registry';
import { refusalAnswer, resumePoint, subscribeVerdict, type Refusal } from './request';
import type { Subscription } from './subscription';

/** Larger messages get BAD_REQUEST; the transport itself drops anything past 1 MB. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/**
 * How long a subscribe waits for the outbox to show what the feed or the client already
 * has (a stamp a few milliseconds behind its changes) before it calls the position
 * invalid or the outbox unavailable.
 */
export const HEAD_WAIT_MS = 3000;

export interface SubscriberOptions {
  /** The bounds and history checks, read for many resumes at once. */
  resumeReads: ResumeReads;
  feed: Feed;
  channels: ChannelCatalog;
  jwtSecret: Uint8Array;
  limits: GatewayLimits;
  /** The gateway's replay turns, shared by everyone in the order they came. */
  turns: Turns;
  registry: Registry;
  connections: Connections;
  replayer: Replayer;
  notes: LimitNotes;
  log: Logger;
}

export class Subscriber {
  constructor(private readonly opts: SubscriberOptions) {}

  unsubscribe = (socket: GatewaySocket, req: unknown, ack: unknown): void => {
    const parsed = unsubscribeSchema.safeParse(req);
    if (!parsed.success) return this.opts.connections.bad(socket, ack, describeIssues(parsed.error));
    const sub = socket.data.subs.get(parsed.data.id);
    if (!sub) return this.opts.connections.bad(socket, ack, `no subscription "${parsed.data.id}" on this connection`, 'NOT_FOUND');
    this.opts.registry.close(sub);
    if (typeof ack === 'function') (ack as (r: UnsubscribeAck) => void)({ ok: true });
  };

  subscribe = async (socket: GatewaySocket, req: unknown, ack: unknown): Promise<void> => {
    const { connections, registry, channels, feed, limits, notes } = this.opts;
    const refuse = (r: Refusal, reply: unknown = ack) => {
      const a = refusalAnswer(r);
      connections.bad(socket, reply, a.message, a.code);
    };
    if (typeof ack !== 'function') return refuse({ kind: 'no-ack' }, null);
    const reply = ack as (r: SubscribeAck) => void;
    let opened: Subscription | null = null;
    // Before anything else is looked at: a flood of subscribes costs a token each, no more.
    if (!socket.data.subscribes.take()) {
      notes.hit('subscribes_per_second', who(socket));
      return refuse({ kind: 'rate', perSecond: limits.subscribesPerSecond });
    }
    try {
      // Measured without recursion: a message nested thousands deep would overflow JSON.stringify.
      const measured = measureJson(req ?? null, { size: MAX_MESSAGE_BYTES, depth: JSON_DEPTH_LIMIT });
      if (measured.over === 'size') return refuse({ kind: 'size', maxBytes: MAX_MESSAGE_BYTES });
      if (measured.over === 'depth') return refuse({ kind: 'depth', maxDepth: JSON_DEPTH_LIMIT });
      const parsed = subscribeSchema.safeParse(req);
      if (!parsed.success) return connections.bad(socket, reply, describeIssues(parsed.error));
      const { channel, since, fp, cursor: token } = parsed.data;
      let table = channels.get(channel);
      if (!table) {
        // Perhaps declared a moment ago, its NOTIFY not read yet (rate-limited: a client
        // naming channels at random costs a read a second at most).
        await channels.refreshOnMiss();
        table = channels.get(channel);
      }
      if (!table) return refuse({ kind: 'unknown-channel', channel, channels: channels.names });
      const mapped = columnFilter(table, parsed.data.filter);
      if (!mapped.ok) return connections.bad(socket, reply, mapped.message);
      const filter = mapped.filter;
      const membership = registry.membershipOf(socket);
      const verdict = subscribeVerdict(socket.data.principal, table, filter, (projectId) => membership?.current(projectId) ?? null);
      if (!verdict.ok) return refuse({ kind: 'forbidden', message: verdict.message });
      if (socket.data.subs.size >= limits.maxSubscriptions) {
        notes.hit('subscriptions_per_socket', who(socket));
        return refuse({ kind: 'too-many', max: limits.maxSubscriptions });
      }
      let cursor: Cursor | null = null;
      let staleCursor = false;
      if (token !== undefined) {
        try {
          cursor = decodeCursor(this.opts.jwtSecret, token);
        } catch (err) {
          // A list kept from before cursors were signed, or from before the secret changed:
          // opened, then resynced below without a read, so that its client refetches.
          if (err instanceof StaleCursorError) staleCursor = true;
          else if (err instanceof CursorError) return connections.bad(socket, reply, err.message);
          else throw err;
        }
      }
      const { replayFrom, positions } = resumePoint(cursor, staleCursor, since, fp);
      // 48 random bits, as randomBytes(6) gives, from randomUUID's pooled entropy: a storm opens
      // thousands a second, and a system call each costs more than the rest of the id.
      const id = `s${randomUUID().slice(0, 13).replace('-', '')}`;
      const sub: Subscription = { id, socket, channel, table, filter, cursor, seam: new Seam<Change>(replayFrom ?? feed.position), heldBytes: 0, pending: null, closed: false };
      // Join the live feed first: whatever it delivers from now on waits in the seam,
      // and the replay below reads up to a head at least as far as the feed's.
      registry.open(sub);
      opened = sub;
      const joinedAt = feed.position;
      if (replayFrom === undefined) {
        sub.seam.goLive(feed.position);
        reply({ ok: true, id, headSeq: feed.position });
        socket.emit('live', { sub: id, seq: sub.seam.position });
        return;
      }
      const answer = (headSeq: number) => {
        opened = null;
        reply({ ok: true, id, headSeq });
      };
      // Decided from the position and the feed alone, before anything is read: a position
      // the stream never reached costs no read and no polling, whatever the client sends.
      let admission: Admission = staleCursor ? 'history-changed' : admitResume(replayFrom, joinedAt, cursor?.pending ?? null);
      if (admission === 'wait-for-feed') admission = (await feed.reached(replayFrom, HEAD_WAIT_MS, () => sub.closed)) ? 'read' : 'history-changed';
      // Closed while it waited (its socket gone, or a resync the client was sent).
      if (sub.closed) return answer(feed.position);
      if (admission !== 'read') {
        answer(feed.position);
        if (admission === 'history-changed') noteHistoryChanged(notes, { ...who(socket), sub: id, since: replayFrom, feed: feed.position });
        return registry.resync(sub, admission, feed.position);
      }
      // The bounds, up to what the feed already sent and up to the client's own position
      // (both can be a stamp ahead of the outbox for a moment), and the fingerprints the
      // history check needs: one statement shared by every resume asking at the same time
      // (a reconnect storm), so read before the turns, which would hand it out a few at a time.
      const seqs = positions.map((p) => p.seq).filter((s) => s > 0);
      const read = await this.opts.resumeReads.boundsAndFpsReaching(seqs, Math.max(joinedAt, replayFrom), HEAD_WAIT_MS, () => sub.closed);
      if (sub.closed) return answer(feed.position);
      const bounds = { head: read.head, floor: read.floor };
      // Turns before any other read of the outbox (history checks that count a range,
      // memberships, pages): first the user's own, so that one user's subscribes in bulk
      // wait behind each other, then the gateway's, shared by everyone in the order they came.
      const mine = socket.data.replays;
      if (mine.stats.running >= limits.maxReplaysPerUser) notes.hit('replays_per_user', who(socket));
      const releaseMine = await mine.take(() => sub.closed);
      if (!releaseMine) return answer(feed.position);
      try {
        const release = await this.opts.turns.take(() => sub.closed);
        if (!release) return answer(feed.position);
        try {
          answer(bounds.head);
          await this.opts.replayer.replay(sub, replayFrom, positions, bounds, joinedAt, read.fps).catch((err: unknown) => {
            // Acknowledged already: the client learns through resync, and starts over.
            this.opts.log.error({ err, socket: socket.id, sub: id }, 'replay failed');
            if (!sub.closed) registry.resync(sub, 'unavailable', feed.position);
          });
        } finally {
          release();
        }
      } finally {
        releaseMine();
      }
    } catch (err) {
      this.opts.log.error({ err, socket: socket.id }, 'subscribe failed');
      // Refused, so not left behind: it would take live changes under an id the client
      // never learned, and count against its limit.
      if (opened) registry.close(opened);
      reply(fail('INTERNAL', 'the gateway could not open this subscription; try again'));
    }
  };
}
