// The Socket.IO gateway (path /ws): authenticates the handshake, validates every
// message, and runs each subscription as replay-then-live through its Seam, routed
// through its filter and grant. Every client has a bounded cost: bytes waiting per
// socket, replays taking turns, caps per user and socket (GatewayLimits). Stateless: any
// number run side by side on the same stamped outbox. This file is the IO shell;
// decisions live in the pure modules.
import type { Server as HttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { Server, type Socket } from 'socket.io';
import { JSON_DEPTH_LIMIT, measureJson, shapeRow, type StreamedTable } from '@realtime/db';
import type { Logger } from '@realtime/runtime';
import {
  WS_PATH,
  describeIssues,
  subscribeSchema,
  unsubscribeSchema,
  type Change,
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type ErrorAck,
  type ErrorCode,
  type Filter,
  authSchema,
  type AuthAck,
  type ResyncReason,
  type UnauthorizedReason,
  type ServerToClientEvents,
  type SubscribeAck,
  type UnsubscribeAck,
  type ApiRow,
} from '@realtime/protocol';
import type { Feed, FeedChange } from './feed';
import { rowAllowed, subscriptionAllowed } from './auth/grant';
import { MembershipLog, grantWithNewProject, membershipEvent } from './auth/membership';
import { grantedWithNewProject, readMemberships } from './auth/members-reader';
import { SESSION_ENDS_TABLE, SessionEndedError, SessionWatch, readSession, sessionEndMessage } from './auth/sessions';
import type { ChannelCatalog } from './channels';
import { CursorError, StaleCursorError, decodeCursor, verifyToken, visibleIn, type Cursor, type Principal } from '@realtime/auth';
import { readBoundsReaching, readPage, readResumeCheck, replayScope, type Page } from './replay/reader';
import { gapVerdict, pendingVerdict, resumeVerdict, worst, type Position } from './replay/history';
import { Seam } from './replay/seam';
import { admitResume, type Admission } from './replay/admit';
import { matchesFilter, route, type DbRow } from './subscriptions/route';
import { columnFilter } from './subscriptions/filter';
import { InterestIndex } from './subscriptions/interest';
import { changesPacket } from './subscriptions/wire';
import * as metrics from './metrics';
import { TokenBucket } from './limits/rate';
import { SocketBytes } from './limits/socket-bytes';
import { Turns } from './limits/turns';
import { originAllowed } from './limits/origin';

/** Larger messages get BAD_REQUEST; the transport itself drops anything past 1 MB. */
const MAX_MESSAGE_BYTES = 16 * 1024;
/**
 * How long a subscribe waits for the outbox to show what the feed or the client already
 * has (a stamp a few milliseconds behind its changes) before it calls the position
 * invalid or the outbox unavailable.
 */
const HEAD_WAIT_MS = 3000;

/** What one client may cost; each is an environment variable (see env.ts). */
/** A request still running when the gateway stops gets this long to answer. */
export const STOP_GRACE_MS = 5_000;

export interface GatewayLimits {
  /** Bytes that may wait for one socket; past it, its subscriptions resync (slow-client). */
  queueBytes: number;
  maxSocketsPerUser: number;
  maxSubscriptions: number;
  subscribesPerSecond: number;
  /** Replay pages: at most this many rows and (after the first row) bytes. */
  pageSize: number;
  pageBytes: number;
  maxConcurrentReplays: number;
  /** Replays of one user (of one connection, for a service token) reading at once; the rest wait. */
  maxReplaysPerUser: number;
  /** How long a replay waits for its socket to make room before giving up on it. */
  slowClientMs: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  queueBytes: 8 * 1024 * 1024,
  maxSocketsPerUser: 20,
  maxSubscriptions: 100,
  subscribesPerSecond: 20,
  pageSize: 1000,
  pageBytes: 1024 * 1024,
  maxConcurrentReplays: 16,
  // A page that opens many lists resumes them a few at a time; one user sending
  // subscribes in bulk takes no more than this of the replays' turns and pool.
  maxReplaysPerUser: 4,
  // Under the heartbeat's 9 s: a client that stops reading also stops answering pings, and
  // the bound, not the heartbeat, must be what ends it (a resync, not a dropped socket).
  slowClientMs: 5_000,
};

/**
 * What the README promises: a link that dies without a close is noticed by both ends
 * within this. The server misses a pong after at most pingInterval + pingTimeout, and the
 * client, which learns both from the handshake, misses a ping after the same.
 */
export const DEAD_LINK_NOTICE_MS = 10_000;

export interface Heartbeat {
  pingInterval: number;
  pingTimeout: number;
}

/** Socket.IO's own (25 s + 20 s) would show a dead link as Live for some 45 s. */
export const DEFAULT_HEARTBEAT: Heartbeat = { pingInterval: 4000, pingTimeout: 5000 };

export interface GatewayOptions {
  httpServer: HttpServer;
  /** How long stop() lets requests in flight finish before it closes their connections (default STOP_GRACE_MS). */
  stopGraceMs?: number;
  pool: pg.Pool;
  /**
   * Every read of the gateway's (replay pages, bounds, memberships): a pool of its own, so
   * that however many clients resume at once, the API keeps its connections (default: pool).
   */
  replayPool?: pg.Pool;
  feed: Feed;
  log: Logger;
  /** The streamed tables it serves, their columns and project columns; the gateway starts and stops its re-reads. */
  channels: ChannelCatalog;
  /** Origins whose pages may open a socket (the page's own origin always may). */
  frontendUrls: string[];
  jwtSecret: Uint8Array;
  limits?: Partial<GatewayLimits>;
  /** Default DEFAULT_HEARTBEAT (PING_INTERVAL_MS, PING_TIMEOUT_MS). */
  heartbeat?: Heartbeat;
}

interface SocketData {
  principal: Principal;
  subject: string | null;
  subs: Map<string, Subscription>;
  badMessages: number;
  expiry: NodeJS.Timeout | null;
  queue: SocketBytes;
  subscribes: TokenBucket;
  /** One replay page at a time per socket: its subscriptions' replays share its bound. */
  pages: Turns;
  /** The user's replays (shared by their sockets; a service token's own): taken before any read. */
  replays: Turns;
  /** Set once the socket went over its bound: whether it drained in time is checked then. */
  slowCheck: NodeJS.Timeout | null;
}

type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

interface Subscription {
  id: string;
  socket: GatewaySocket;
  channel: string;
  /** The catalog's table as it was at subscribe: its shape and project column. */
  table: StreamedTable;
  /** By column name (mapped from the client's field names at subscribe). */
  filter: Filter | undefined;
  cursor: Cursor | null;
  seam: Seam<Change>;
  /** Bytes of the live changes the seam holds while the replay runs. */
  heldBytes: number;
  /** This feed batch's changes for it, sent as one message when the batch is routed. */
  pending: { changes: Change[]; first: FeedChange } | null;
  closed: boolean;
}

const fail = (code: ErrorCode, message: string): ErrorAck => ({ ok: false, error: { code, message } });

/** A bound that refuses a connection, with the code the client gets. */
class LimitError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One signed-in user's sockets on this gateway and their membership history, shared by those sockets. */
interface UserEntry {
  log: MembershipLog;
  sockets: Set<GatewaySocket>;
  /** Resolves once the history up to the feed position at creation is loaded. */
  ready: Promise<void>;
  /** Turns of this user's replays, across their sockets (maxReplaysPerUser). */
  replays: Turns;
}

interface ApiRows {
  row(): ApiRow | null;
  old(): ApiRow | null;
  /** The shared event for this op, or null when routing handed back other rows. */
  as(op: Change['op'], row: DbRow | null, old: DbRow | null): Change | null;
}

/**
 * The change's rows in API form, and what a subscription receives of it by op (as is,
 * moved out as a DELETE, moved in as an INSERT), each made on first use and then shared
 * by every subscription that receives it: one object, serialized once (wire.ts).
 */
function apiRows(table: StreamedTable, change: FeedChange): ApiRows {
  let row: ApiRow | null | undefined;
  let old: ApiRow | null | undefined;
  const byOp = new Map<Change['op'], Change>();
  const api: ApiRows = {
    row: () => (row === undefined ? (row = shapeRow(table, change.newRow)) : row),
    old: () => (old === undefined ? (old = shapeRow(table, change.oldRow)) : old),
    as(op, routedRow, routedOld) {
      // Routing only ever hands back the change's own rows, so one op means one event.
      if (routedRow !== null && routedRow !== change.newRow && routedRow !== change.oldRow) return null;
      if (routedOld !== null && routedOld !== change.oldRow) return null;
      let e = byOp.get(op);
      if (!e) {
        e = { seq: change.seq, op, row: routedRow === null ? null : routedRow === change.newRow ? api.row() : api.old(), old: routedOld === null ? null : api.old(), committedAt: change.committedAt, fp: change.fp, txid: change.txid };
        byOp.set(op, e);
      }
      return e;
    },
  };
  return api;
}

export class Gateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  /** Each channel's subscriptions, filed by the value their filter wants (see InterestIndex); made at a channel's first subscribe. */
  private readonly byChannel = new Map<string, InterestIndex<Subscription>>();
  private readonly users = new Map<string, UserEntry>();
  private readonly log: Logger;
  private detachFeed: (() => void) | null = null;
  /** `offered`: subscriptions a live change was routed for; grows with those that can match, not with all. */
  private readonly counters = { replays: 0, resyncs: 0, badMessages: 0, offered: 0 };
  private readonly limits: GatewayLimits;
  private readonly turns: Turns;
  private readonly replayPool: pg.Pool;
  /** The sessions of user sockets: a session's end from the feed closes them (auth/sessions.ts). */
  private readonly sessions: SessionWatch<GatewaySocket>;

  constructor(private readonly opts: GatewayOptions) {
    this.log = opts.log.child({ component: 'gateway' });
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.turns = new Turns(this.limits.maxConcurrentReplays);
    this.replayPool = opts.replayPool ?? opts.pool;
    this.sessions = new SessionWatch<GatewaySocket>({
      read: (sid, userId) => readSession(this.replayPool, sid, userId),
      end: (socket, reason) => this.endSocket(socket, reason, sessionEndMessage(reason)),
    });
    this.io = new Server(opts.httpServer, {
      path: WS_PATH,
      cors: { origin: opts.frontendUrls, credentials: true },
      serveClient: false,
      ...(opts.heartbeat ?? DEFAULT_HEARTBEAT),
      // The largest message a client has reason to send is a subscribe (16 KB) or a token:
      // anything much larger is refused by the transport before it is parsed.
      maxHttpBufferSize: 64 * 1024,
      // Socket.IO's own recovery is in memory and short-lived: replay comes from the outbox.
      connectionStateRecovery: undefined,
      // A page of another site must not open a socket with a user's token: browsers always
      // send Origin, so one outside the list (and not the page's own) is refused here.
      allowRequest: (req, done) => {
        if (originAllowed(req.headers.origin, req.headers.host, opts.frontendUrls)) return done(null, true);
        this.hit('origin', { origin: String(req.headers.origin).slice(0, 200) });
        done(`ORIGIN_NOT_ALLOWED: ${String(req.headers.origin).slice(0, 200)} is not an allowed origin; add it to FRONTEND_URL`, false);
      },
    });
  }

  /** The channels served now (the catalog's streamed tables, narrowed by PG_CHANNELS). */
  get channels(): string[] {
    return this.opts.channels.names;
  }

  stats(): { sockets: number; subscriptions: number; replays: number; resyncs: number; badMessages: number; offered: number; replaysRunning: number; replaysWaiting: number } {
    let subscriptions = 0;
    for (const s of this.byChannel.values()) subscriptions += s.size;
    const t = this.turns.stats;
    return { sockets: this.io.of('/').sockets.size, subscriptions, ...this.counters, replaysRunning: t.running, replaysWaiting: t.waiting };
  }

  /** A bound was reached: counted by bound, and logged (with who) at most once a minute per bound. */
  private readonly lastHitLog = new Map<string, number>();
  private hit(limit: string, who: Record<string, unknown>): void {
    metrics.limitHits.inc({ limit });
    const now = Date.now();
    if ((this.lastHitLog.get(limit) ?? 0) > now - 60_000) return;
    this.lastHitLog.set(limit, now);
    this.log.warn({ limit, ...who }, 'a client reached a bound (further ones this minute are counted in realtime_limit_hits_total, not logged)');
  }

  start(): void {
    this.io.use((socket, next) => {
      const v = (socket.handshake.auth as { v?: unknown } | undefined)?.v;
      if (v !== PROTOCOL_VERSION) {
        metrics.badMessagesTotal.inc({ code: 'PROTOCOL_VERSION' });
        const message = `this gateway speaks realtime protocol ${PROTOCOL_VERSION} (handshake auth: { token, v: ${PROTOCOL_VERSION} }, changes in batches, positions with their fingerprint); this client sent ${v === undefined ? 'no version (protocol 1)' : `v: ${JSON.stringify(v).slice(0, 20)}`}: update the client`;
        return next(Object.assign(new Error(`PROTOCOL_VERSION: ${message}`), { data: { code: 'PROTOCOL_VERSION' } }));
      }
      verifyToken(this.opts.jwtSecret, (socket.handshake.auth as { token?: unknown } | undefined)?.token)
        .then(async (v) => {
          socket.data.principal = v.principal;
          socket.data.subject = v.subject;
          socket.data.subs = new Map();
          socket.data.badMessages = 0;
          socket.data.expiry = null;
          socket.data.queue = new SocketBytes(socket.conn as never);
          socket.data.subscribes = new TokenBucket(this.limits.subscribesPerSecond);
          socket.data.pages = new Turns(1);
          socket.data.replays = new Turns(this.limits.maxReplaysPerUser);
          socket.data.slowCheck = null;
          await this.sessions.attach(socket, v.principal);
          if (v.principal.kind === 'user') socket.data.replays = await this.attachUser(v.principal.userId, socket);
          this.armExpiry(socket, v.expiresAt);
          next();
        })
        .catch((err: Error) => {
          if (socket.data.principal?.kind === 'user') this.detachUser(socket.data.principal.userId, socket);
          this.sessions.detach(socket);
          const code: ErrorCode = err instanceof LimitError ? err.code : 'UNAUTHORIZED';
          // A session's end says which: the client signs in again rather than asking for a token.
          next(Object.assign(new Error(`${code}: ${err.message}`), { data: err instanceof SessionEndedError ? { code, reason: err.reason } : { code } }));
        });
    });
    this.io.on('connection', (socket) => this.onConnection(socket));
    metrics.registerGatewayGauges(() => this.stats());
    this.detachFeed = this.opts.feed.onChanges((batch) => this.dispatch(batch));
    this.opts.channels.start();
  }

  async stop(): Promise<void> {
    this.detachFeed?.();
    await this.opts.channels.stop();
    for (const socket of this.io.of('/').sockets.values()) this.cleanup(socket);
    // io.close() closes the HTTP server, which waits for every connection to end. A
    // keep-alive connection that is busy at that moment is not closed when its answer is
    // done (Node 20 goes on serving it), so a client that keeps one busy (a load
    // balancer's upstream pool, a retrying client) would hold the stop forever. Idle
    // connections are closed as they become idle, and whatever is left after the grace.
    const server = this.opts.httpServer;
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const grace = setTimeout(() => server.closeAllConnections(), this.opts.stopGraceMs ?? STOP_GRACE_MS);
    try {
      await new Promise<void>((resolve) => {
        this.io.close(() => resolve());
        server.closeIdleConnections();
      });
    } finally {
      clearInterval(idle);
      clearTimeout(grace);
    }
  }

  /** A socket whose token expires unrefreshed is told why, then closed: it stops receiving. */
  private armExpiry(socket: GatewaySocket, expiresAt: number | null): void {
    if (socket.data.expiry) clearTimeout(socket.data.expiry);
    socket.data.expiry = null;
    if (!expiresAt) return;
    const ms = expiresAt * 1000 - Date.now();
    socket.data.expiry = setTimeout(
      () => this.endSocket(socket, 'expired', 'the token expired: fetch a new one (GET /api/realtime/token), reconnect and resume'),
      Math.max(0, Math.min(ms, 2 ** 31 - 1)),
    );
  }

  /** Told why, then closed: it stops receiving at once. */
  private endSocket(socket: GatewaySocket, reason: UnauthorizedReason, message: string): void {
    this.cleanup(socket);
    socket.emit('unauthorized', { reason, message });
    socket.disconnect(true);
  }

  /** Registers the socket under its user (the first socket of a user loads their history); the user's replay turns. */
  private async attachUser(userId: string, socket: GatewaySocket): Promise<Turns> {
    let entry = this.users.get(userId);
    if (!entry) {
      const log = new MembershipLog();
      // Events after this position arrive through dispatch (which adds them to the
      // same log, registered below in this same turn of the event loop); those up to it
      // are read. Together: the whole history, each once. The feed can hand out a change
      // before the outbox shows its seq (early numbering), so the read waits until the
      // outbox reaches the position: read any sooner, a revocation the feed delivered a
      // moment ago would be in neither half, and the user would keep the project.
      const upTo = this.opts.feed.position;
      const ready = (async () => {
        const bounds = await readBoundsReaching(this.replayPool, upTo, HEAD_WAIT_MS, () => false);
        if (bounds.head < upTo) throw new Error(`the outbox shows changes up to seq ${bounds.head} but the stream has sent up to ${upTo} (the replicator is behind or restarting)`);
        for (const e of await readMemberships(this.replayPool, userId, upTo)) log.add(e);
      })();
      entry = { log, sockets: new Set(), ready, replays: new Turns(this.limits.maxReplaysPerUser) };
      this.users.set(userId, entry);
      ready.catch(() => {
        if (this.users.get(userId) === entry && entry!.sockets.size === 0) this.users.delete(userId);
      });
    }
    // Checked and added in one step: handshakes that race cannot both take the last place.
    if (entry.sockets.size >= this.limits.maxSocketsPerUser) {
      this.hit('sockets_per_user', { user: userId });
      metrics.badMessagesTotal.inc({ code: 'TOO_MANY_SOCKETS' });
      throw new LimitError('TOO_MANY_SOCKETS', `at most ${this.limits.maxSocketsPerUser} connections per user (MAX_SOCKETS_PER_USER); close another tab or connection`);
    }
    entry.sockets.add(socket);
    try {
      await entry.ready;
    } catch (err) {
      // The next socket of this user tries again with a fresh read.
      if (this.users.get(userId) === entry) this.users.delete(userId);
      throw new Error(`the gateway could not read your memberships (${(err as Error).message}); try again`);
    }
    return entry.replays;
  }

  private detachUser(userId: string, socket: GatewaySocket): void {
    const entry = this.users.get(userId);
    if (!entry) return;
    entry.sockets.delete(socket);
    if (entry.sockets.size === 0) this.users.delete(userId);
  }

  /** The user's membership history, or null for a service token. */
  private membershipOf(socket: GatewaySocket): MembershipLog | null {
    const p = socket.data.principal;
    return p.kind === 'user' ? (this.users.get(p.userId)?.log ?? null) : null;
  }

  private onConnection(socket: GatewaySocket): void {
    // The acknowledgement is the last argument, whatever came before it: a client that
    // sends no payload, or two, still gets its answer.
    const split = (args: unknown[]): [unknown, unknown] => (typeof args.at(-1) === 'function' ? [args.length > 1 ? args[0] : undefined, args.at(-1)] : [args[0], null]);
    socket.on('subscribe', (...args: unknown[]) => {
      const [req, ack] = split(args);
      void this.subscribe(socket, req, ack);
    });
    socket.on('unsubscribe', (...args: unknown[]) => {
      const [req, ack] = split(args);
      this.unsubscribe(socket, req, ack);
    });
    socket.on('auth', (...args: unknown[]) => {
      const [req, ack] = split(args);
      void this.refresh(socket, req, ack);
    });
    socket.onAny((event: string, ...args: unknown[]) => {
      if (event === 'subscribe' || event === 'unsubscribe' || event === 'auth') return;
      this.bad(socket, args[args.length - 1], `unknown event "${String(event).slice(0, 40)}": the gateway takes subscribe, unsubscribe and auth`);
    });
    socket.on('disconnect', () => this.cleanup(socket));
    this.sessions.connected(socket);
  }

  private cleanup(socket: GatewaySocket): void {
    if (socket.data.expiry) clearTimeout(socket.data.expiry);
    socket.data.expiry = null;
    if (socket.data.slowCheck) clearTimeout(socket.data.slowCheck);
    socket.data.slowCheck = null;
    for (const sub of socket.data.subs?.values() ?? []) this.close(sub);
    socket.data.subs?.clear();
    if (socket.data.principal?.kind === 'user') this.detachUser(socket.data.principal.userId, socket);
    this.sessions.detach(socket);
  }

  /** A fresh token for the same identity: the socket and its subscriptions go on. */
  private async refresh(socket: GatewaySocket, req: unknown, ack: unknown): Promise<void> {
    const parsed = authSchema.safeParse(req);
    if (!parsed.success) return this.bad(socket, ack, describeIssues(parsed.error));
    try {
      const v = await verifyToken(this.opts.jwtSecret, parsed.data.token);
      const was = socket.data.principal;
      const same = was.kind === 'user' ? v.principal.kind === 'user' && v.principal.userId === was.userId : v.principal.kind === 'service' && JSON.stringify(v.principal.grant) === JSON.stringify(was.grant);
      if (!same) return this.bad(socket, ack, 'the new token names another identity: connect again with it instead', 'FORBIDDEN');
      await this.sessions.refresh(socket, v.principal);
      if (!socket.connected) return;
      this.armExpiry(socket, v.expiresAt);
      if (typeof ack === 'function') (ack as (r: AuthAck) => void)({ ok: true, expiresAt: v.expiresAt ?? 0 });
    } catch (err) {
      this.bad(socket, ack, (err as Error).message, 'UNAUTHORIZED');
    }
  }

  private close(sub: Subscription): void {
    sub.closed = true;
    this.byChannel.get(sub.channel)?.delete(sub);
    sub.socket.data.subs.delete(sub.id);
    // A replay still waiting for its turn leaves the line now.
    if (this.turns.stats.waiting > 0) this.turns.sweep();
    if (sub.socket.data.pages?.stats.waiting > 0) sub.socket.data.pages.sweep();
    if (sub.socket.data.replays?.stats.waiting > 0) sub.socket.data.replays.sweep();
  }

  /** An error acknowledgement (when the client asked for one), logged once per socket. */
  private bad(socket: GatewaySocket, ack: unknown, message: string, code: ErrorCode = 'BAD_REQUEST'): void {
    this.counters.badMessages++;
    metrics.badMessagesTotal.inc({ code });
    socket.data.badMessages++;
    if (socket.data.badMessages === 1) this.log.warn({ socket: socket.id, code, message }, 'refused a client message (further ones from this socket are counted, not logged)');
    if (typeof ack === 'function') (ack as (r: ErrorAck) => void)(fail(code, message));
  }

  private async subscribe(socket: GatewaySocket, req: unknown, ack: unknown): Promise<void> {
    if (typeof ack !== 'function') {
      this.bad(socket, null, 'subscribe needs an acknowledgement callback');
      return;
    }
    const reply = ack as (r: SubscribeAck) => void;
    let opened: Subscription | null = null;
    // Before anything else is looked at: a flood of subscribes costs a token each, no more.
    if (!socket.data.subscribes.take()) {
      this.hit('subscribes_per_second', this.who(socket));
      return this.bad(socket, reply, `at most ${this.limits.subscribesPerSecond} subscribes a second per connection (SUBSCRIBES_PER_SECOND); wait a moment and try again`, 'RATE_LIMITED');
    }
    try {
      // Measured without recursion: a message nested thousands deep would overflow JSON.stringify.
      const measured = measureJson(req ?? null, { size: MAX_MESSAGE_BYTES, depth: JSON_DEPTH_LIMIT });
      if (measured.over === 'size') return this.bad(socket, reply, `message larger than ${MAX_MESSAGE_BYTES} bytes`);
      if (measured.over === 'depth') return this.bad(socket, reply, `message nested deeper than ${JSON_DEPTH_LIMIT} levels of arrays and objects`);
      const parsed = subscribeSchema.safeParse(req);
      if (!parsed.success) return this.bad(socket, reply, describeIssues(parsed.error));
      const { channel, since, fp, cursor: token } = parsed.data;
      let table = this.opts.channels.get(channel);
      if (!table) {
        // Perhaps declared a moment ago, its NOTIFY not read yet (rate-limited: a client
        // naming channels at random costs a read a second at most).
        await this.opts.channels.refreshOnMiss();
        table = this.opts.channels.get(channel);
      }
      if (!table) {
        return this.bad(socket, reply, `unknown channel "${channel}"; channels: ${this.opts.channels.names.join(', ')}`, 'UNKNOWN_CHANNEL');
      }
      const mapped = columnFilter(table, parsed.data.filter);
      if (!mapped.ok) return this.bad(socket, reply, mapped.message);
      const filter = mapped.filter;
      const verdict = this.allowed(socket, table, filter);
      if (!verdict.ok) return this.bad(socket, reply, verdict.message, 'FORBIDDEN');
      if (socket.data.subs.size >= this.limits.maxSubscriptions) {
        this.hit('subscriptions_per_socket', this.who(socket));
        return this.bad(socket, reply, `at most ${this.limits.maxSubscriptions} subscriptions per connection (MAX_SUBSCRIPTIONS_PER_SOCKET)`, 'TOO_MANY_SUBSCRIPTIONS');
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
          else if (err instanceof CursorError) return this.bad(socket, reply, err.message);
          else throw err;
        }
      }

      // With both, the cursor's snapshot still decides what its list already had: in
      // NOTIFY mode a change the list holds can be stamped after one it does not, so the
      // last seq alone would send it again after a reconnect.
      const replayFrom = cursor ? Math.max(cursor.headSeq, since ?? 0) : staleCursor ? (since ?? 0) : since;
      // Every position given is checked against the history the outbox holds now before
      // anything is replayed (history.ts): the cursor's head and `since`, each with its
      // fingerprint.
      const positions: Position[] = [];
      if (cursor) positions.push({ seq: cursor.headSeq, fp: cursor.headFp });
      if (since !== undefined && (!cursor || since > 0)) positions.push({ seq: since, fp: fp ?? null });
      const id = `s${randomBytes(6).toString('hex')}`;
      const sub: Subscription = {
        id,
        socket,
        channel,
        table,
        filter,
        cursor,
        seam: new Seam<Change>(replayFrom ?? this.opts.feed.position),
        heldBytes: 0,
        pending: null,
        closed: false,
      };
      // Join the live feed first: whatever it delivers from now on waits in the seam,
      // and the replay below reads up to a head at least as far as the feed's.
      socket.data.subs.set(id, sub);
      let index = this.byChannel.get(channel);
      if (!index) this.byChannel.set(channel, (index = new InterestIndex<Subscription>(table.projectColumn)));
      index.add(sub);
      opened = sub;
      const joinedAt = this.opts.feed.position;
      if (replayFrom === undefined) {
        sub.seam.goLive(this.opts.feed.position);
        reply({ ok: true, id, headSeq: this.opts.feed.position });
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
      if (admission === 'wait-for-feed') admission = (await this.opts.feed.reached(replayFrom, HEAD_WAIT_MS, () => sub.closed)) ? 'read' : 'history-changed';
      // Closed while it waited (its socket gone, or a resync the client was sent).
      if (sub.closed) return answer(this.opts.feed.position);
      if (admission !== 'read') {
        answer(this.opts.feed.position);
        if (admission === 'history-changed') this.historyChanged({ ...this.who(socket), sub: id, since: replayFrom, feed: this.opts.feed.position });
        return this.resync(sub, admission, this.opts.feed.position);
      }
      // Turns before any read of the outbox (bounds, history checks, memberships, pages):
      // first the user's own, so that one user's subscribes in bulk wait behind each
      // other, then the gateway's, shared by everyone in the order they came.
      const mine = socket.data.replays;
      if (mine.stats.running >= this.limits.maxReplaysPerUser) this.hit('replays_per_user', this.who(socket));
      const releaseMine = await mine.take(() => sub.closed);
      if (!releaseMine) return answer(this.opts.feed.position);
      try {
        const release = await this.turns.take(() => sub.closed);
        if (!release) return answer(this.opts.feed.position);
        try {
          // Up to what the feed already sent, and up to the client's own position: both
          // can be a stamp ahead of the outbox for a moment (readBoundsReaching).
          const bounds = await readBoundsReaching(this.replayPool, Math.max(joinedAt, replayFrom), HEAD_WAIT_MS, () => sub.closed);
          answer(bounds.head);
          await this.replay(sub, replayFrom, positions, bounds, joinedAt).catch((err: unknown) => {
            // Acknowledged already: the client learns through resync, and starts over.
            this.log.error({ err, socket: socket.id, sub: id }, 'replay failed');
            if (!sub.closed) this.resync(sub, 'unavailable', this.opts.feed.position);
          });
        } finally {
          release();
        }
      } finally {
        releaseMine();
      }
    } catch (err) {
      this.log.error({ err, socket: socket.id }, 'subscribe failed');
      // Refused, so not left behind: it would take live changes under an id the client
      // never learned, and count against its limit.
      if (opened) this.close(opened);
      reply(fail('INTERNAL', 'the gateway could not open this subscription; try again'));
    }
  }

  /** Service tokens: their grant. Users: rows with a project, of projects they are a member of now (when the filter names one). */
  private allowed(socket: GatewaySocket, table: StreamedTable, filter: Filter | undefined): { ok: true } | { ok: false; message: string } {
    const p = socket.data.principal;
    const column = table.projectColumn;
    if (p.kind === 'service') return subscriptionAllowed(p.grant, table.name, column, filter);
    if (column === null) {
      return { ok: false, message: `rows of "${table.name}" belong to no project (realtime_enable named no project column), so no project membership grants them` };
    }
    const wanted = filter?.[column];
    if (wanted !== undefined && (typeof wanted !== 'string' || this.membershipOf(socket)?.current(wanted) == null)) {
      return { ok: false, message: `you are not a member of project ${String(wanted)}` };
    }
    return { ok: true };
  }

  /** Whether a subscription can hold rows of this project: its filter does not exclude it. */
  private covers(sub: Subscription, projectId: string): boolean {
    const column = sub.table.projectColumn;
    const wanted = column === null ? undefined : sub.filter?.[column];
    return wanted === undefined || wanted === projectId;
  }

  private resync(sub: Subscription, reason: ResyncReason, headSeq: number): void {
    if (sub.closed) return;
    this.counters.resyncs++;
    metrics.resyncsTotal.inc({ reason });
    this.close(sub);
    sub.socket.emit('resync', { sub: sub.id, reason, headSeq });
  }

  /** Logged at most once a minute (every one is counted in realtime_resyncs_total{reason="history-changed"}). */
  private historyChanged(detail: Record<string, unknown>): void {
    const now = Date.now();
    if ((this.lastHitLog.get('history-changed') ?? 0) > now - 60_000) return;
    this.lastHitLog.set('history-changed', now);
    this.log.warn(detail, 'a client resumed from a position that is not in the history the outbox holds (the database restored, rolled back or replaced, or outbox rows removed): resync, no replay (further ones this minute are counted, not logged)');
  }

  /** Runs within the turns the subscribe took: every read here is the replay's. */
  private async replay(sub: Subscription, since: number, positions: Position[], bounds: { head: number; floor: number }, joinedAt: number): Promise<void> {
    this.counters.replays++;
    metrics.replaysTotal.inc();
    // History identity: each position is the change stamped with its seq here (same
    // fingerprint), and every seq of the replay's range still has its row. Otherwise the
    // seqs after it name changes of another history: a refetch, never a replay.
    const check = await readResumeCheck(this.replayPool, positions.map((p) => p.seq).filter((s) => s > 0), since, bounds.head, sub.cursor);
    if (sub.closed) return;
    const b = { floor: Math.max(bounds.floor, check.floor), head: bounds.head };
    const verdict = worst([
      ...positions.map((p) => resumeVerdict(p, b, check.fps.get(p.seq) ?? null)),
      since >= b.floor && since <= b.head ? gapVerdict(since, b.head, check.inRange) : 'ok',
      sub.cursor ? pendingVerdict(sub.cursor.pending?.digest ?? null, check.pendingDigest, sub.cursor.headSeq, b.floor) : 'ok',
    ]);
    if (verdict !== 'ok') {
      if (verdict === 'history-changed') this.historyChanged({ ...this.who(sub.socket), sub: sub.id, positions, floor: b.floor, head: b.head, found: Object.fromEntries(check.fps), rowsInRange: check.inRange, pending: sub.cursor?.pending ?? null, pendingFound: check.pendingDigest });
      return this.resync(sub, verdict, bounds.head);
    }
    if (since < b.floor) return this.resync(sub, 'retention', bounds.head);
    if (since > bounds.head) return this.resync(sub, 'history-changed', bounds.head);
    // The feed sent changes the outbox still does not show (their stamp was lost with a
    // crashed Postgres, and no leader has stamped them again yet): a replay ending here
    // would leave a gap before what the seam holds.
    if (bounds.head < joinedAt) return this.resync(sub, 'unavailable', bounds.head);
    await this.replayPages(sub, since, bounds);
  }

  private async replayPages(sub: Subscription, since: number, bounds: { head: number; floor: number }): Promise<void> {
    const p = sub.socket.data.principal;
    const log = p.kind === 'user' ? this.membershipOf(sub.socket) : null;
    if (p.kind === 'user') {
      // The history up to the replay's head, which the feed may not have reached yet.
      if (!log) return;
      for (const e of await readMemberships(this.replayPool, p.userId, bounds.head)) log.add(e);
      // The head may be past the session's end, which the feed has yet to bring.
      if (sub.closed || !(await this.sessions.confirm(sub.socket)) || sub.closed) return;
      // A project gained or lost while away: the client's cache holds rows it may no
      // longer see, or lacks rows it now may. Only a refetch gets both right.
      for (const e of log.flipsBetween(since, bounds.head)) {
        if (!this.covers(sub, e.projectId) || (await grantedWithNewProject(this.replayPool, e))) continue;
        return this.resync(sub, 'membership', bounds.head);
      }
      if (sub.closed) return;
    }
    // Only the projects this subscription may receive are read, through the index: the
    // grant is judged by the project column the trigger records.
    const indexed = sub.table.projectColumn;
    const granted = p.kind === 'service' ? (p.grant.projects.includes('*') ? null : p.grant.projects) : log!.everMember();
    const projects = indexed ? replayScope(sub.filter, indexed, granted) : null;
    const read = (after: number) =>
      readPage(this.replayPool, {
        channel: sub.channel,
        after,
        upTo: bounds.head,
        limit: this.limits.pageSize,
        maxBytes: this.limits.pageBytes,
        filter: sub.filter,
        projects,
        projectColumn: indexed,
      });
    // One replay at a time per socket (its subscriptions' replays share its bound), and
    // within it at most two pages in memory: the one being sent and the next, read while
    // this one is encoded and written, but only while the socket has room for it.
    const release = await sub.socket.data.pages.take(() => sub.closed);
    if (!release) return;
    let next: Promise<Page> | null = null;
    try {
      let after = since;
      for (;;) {
        if (!next) {
          if (!(await this.room(sub))) return;
          next = read(after);
        }
        const page = await next;
        next = null;
        if (sub.closed) return;
        const more = page.more && page.changes.length > 0;
        if (more) {
          after = page.changes[page.changes.length - 1]!.seq;
          if (this.hasRoom(sub.socket)) next = read(after);
        }
        const events = page.changes.map((c) => this.toEvent(sub, c)).filter((e): e is Change => e !== null);
        // A page is one message: the client applies it in one cache update.
        this.send(sub, sub.seam.replayed(events), false);
        if (!more) break;
      }
    } finally {
      // A read still running is awaited, so that its connection goes back to the pool clean.
      await next?.catch(() => undefined);
      release();
    }
    this.send(sub, sub.seam.goLive(bounds.head));
    sub.heldBytes = 0;
    sub.socket.emit('live', { sub: sub.id, seq: sub.seam.position });
  }

  /**
   * Waits until what waits for the socket is under half the bound. False (and the socket's
   * subscriptions resynced) when it does not drain in time: a client that stopped reading
   * must not hold a replay's turn.
   */
  private hasRoom(socket: GatewaySocket): boolean {
    return socket.data.queue.bytes <= this.limits.queueBytes / 2;
  }

  private async room(sub: Subscription): Promise<boolean> {
    const socket = sub.socket;
    const deadline = Date.now() + this.limits.slowClientMs;
    while (!this.hasRoom(socket)) {
      if (sub.closed || !socket.connected) return false;
      if (Date.now() > deadline) {
        this.slow(socket);
        return false;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return !sub.closed;
  }

  /** The socket is over its bound: every subscription of it resyncs, and it costs nothing more. */
  private slow(socket: GatewaySocket): void {
    this.hit('socket_queue_bytes', { ...this.who(socket), bytes: socket.data.queue.bytes });
    for (const sub of [...socket.data.subs.values()]) this.resync(sub, 'slow-client', this.opts.feed.position);
    // What already waits for it stays until it reads: a socket that still has not read
    // half of it after the same grace is closed, and its buffers go with it.
    if (socket.data.slowCheck) return;
    socket.data.slowCheck = setTimeout(() => {
      socket.data.slowCheck = null;
      if (socket.connected && socket.data.queue.bytes > this.limits.queueBytes / 2) {
        this.hit('slow_socket_closed', this.who(socket));
        socket.disconnect(true);
      }
    }, this.limits.slowClientMs);
  }

  private who(socket: GatewaySocket): Record<string, unknown> {
    const p = socket.data.principal;
    return { socket: socket.id, ...(p?.kind === 'user' ? { user: p.userId } : { subject: socket.data.subject }) };
  }

  /** One batch of a subscription's changes (seq ascending), as one message; nothing when empty. */
  /**
   * One batch as one message. Live changes are shared by their subscribers: the message is
   * joined from changes serialized once (what emit('changes', …) would write). A replay
   * page is this subscription's alone: one serialization of the whole page is cheapest.
   */
  private send(sub: Subscription, changes: Change[], shared = true): void {
    if (changes.length === 0 || sub.closed || !sub.socket.connected) return;
    if (shared) sub.socket.conn.write(changesPacket(sub.id, sub.channel, changes));
    else sub.socket.emit('changes', { sub: sub.id, channel: sub.channel, changes });
  }

  /** What this subscription gets of a change, or null (filtered, not granted, or already in its list). */
  private toEvent(sub: Subscription, change: FeedChange, api: ApiRows = apiRows(sub.table, change)): Change | null {
    if (sub.cursor && change.seq > sub.cursor.headSeq && visibleIn(sub.cursor.snapshot, BigInt(change.txid))) return null;
    if (sub.cursor && change.seq <= sub.cursor.headSeq) return null;
    // An unnamed arrow: a named one costs a keepNames call per change under tsx.
    const routed = route(change, (row) => this.visibleTo(sub, change.seq, row));
    if (!routed) return null;
    const shared = api.as(routed.op, routed.row, routed.old);
    if (shared) return shared;
    return {
      seq: change.seq,
      op: routed.op,
      // Routing only ever hands back the change's own rows, so their API form is shared.
      row: routed.row === change.newRow ? api.row() : routed.row === change.oldRow ? api.old() : shapeRow(sub.table, routed.row),
      old: routed.old === change.oldRow ? api.old() : shapeRow(sub.table, routed.old),
      committedAt: change.committedAt,
      fp: change.fp,
      txid: change.txid,
    };
  }

  /** Whether a subscription may see this version of a row: its filter, then its grant (a user's membership at `seq`). */
  private visibleTo(sub: Subscription, seq: number, row: DbRow | null): boolean {
    if (!matchesFilter(row, sub.filter)) return false;
    const p = sub.socket.data.principal;
    if (p.kind === 'service') return rowAllowed(p.grant, sub.table.projectColumn, row);
    const log = this.membershipOf(sub.socket);
    const column = sub.table.projectColumn;
    return !!row && !!log && column !== null && typeof row[column] === 'string' && log.roleAt(row[column] as string, seq) !== null;
  }

  /** A grant or revocation of a connected user: into their history, and a resync of what it changes. */
  private applyMembership(batch: FeedChange[], at: number): void {
    const change = batch[at]!;
    const m = membershipEvent(change);
    const entry = m && this.users.get(m.userId);
    if (!m || !entry) return;
    entry.log.add(m.event);
    if (!entry.log.flips(m.event)) return;
    // The creator of a new project: its rows all follow, live, so nothing to refetch.
    if (m.event.role !== null && grantWithNewProject(batch, at, m.event.projectId)) return;
    for (const socket of entry.sockets) {
      for (const sub of [...socket.data.subs.values()]) {
        if (this.covers(sub, m.event.projectId)) this.resync(sub, 'membership', change.seq);
      }
    }
  }

  private dispatch(batch: FeedChange[]): void {
    const touched: Subscription[] = [];
    for (let at = 0; at < batch.length; at++) {
      const change = batch[at]!;
      if (change.table === 'project_members') this.applyMembership(batch, at);
      else if (change.table === SESSION_ENDS_TABLE) this.sessions.apply(change);
      const index = this.byChannel.get(change.table);
      if (!index || index.size === 0) continue;
      // Only the subscriptions that can match: a thousand pages open on other projects
      // cost this change nothing.
      const subs = index.candidates(change.newRow, change.oldRow);
      this.counters.offered += subs.length;
      // Every subscriber of the channel shares one API form of the rows (in the catalog's
      // newest shape; a table no longer streamed keeps the shape its subscribers had).
      const table = this.opts.channels.get(change.table) ?? subs[0]?.table;
      if (!table) continue;
      const api = apiRows(table, change);
      for (const sub of subs) {
        if (sub.closed) continue;
        const event = this.toEvent(sub, change, api);
        if (!event) continue;
        // Live changes wait while a replay runs; a replay that falls that far behind the
        // live stream is cheaper to restart from a fresh list than to buffer without end.
        if (!sub.seam.isLive) {
          sub.heldBytes += change.rowBytes;
          if (sub.heldBytes > this.limits.queueBytes) {
            this.hit('socket_queue_bytes', this.who(sub.socket));
            this.resync(sub, 'slow-client', this.opts.feed.position);
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
    // One message per subscription for the whole feed batch, and one set of metrics per
    // message: a subscriber of a busy project costs one emit per batch, not per change.
    const now = Date.now();
    for (const sub of touched) {
      const pending = sub.pending!;
      sub.pending = null;
      if (sub.closed) continue;
      if (sub.socket.data.queue.bytes > this.limits.queueBytes) {
        this.slow(sub.socket);
        continue;
      }
      this.send(sub, pending.changes);
      metrics.changesSent.inc(pending.changes.length);
      metrics.batchesSent.inc();
      // The batch's oldest change: what its slowest change waited.
      metrics.deliveryLatency.observe(Math.max(0, now - Date.parse(pending.first.committedAt)) / 1000);
      if (pending.first.fedAt) metrics.fanoutLatency.observe(Math.max(0, now - pending.first.fedAt) / 1000);
    }
  }

  private unsubscribe(socket: GatewaySocket, req: unknown, ack: unknown): void {
    const parsed = unsubscribeSchema.safeParse(req);
    if (!parsed.success) return this.bad(socket, ack, describeIssues(parsed.error));
    const sub = socket.data.subs.get(parsed.data.id);
    if (!sub) return this.bad(socket, ack, `no subscription "${parsed.data.id}" on this connection`, 'NOT_FOUND');
    this.close(sub);
    if (typeof ack === 'function') (ack as (r: UnsubscribeAck) => void)({ ok: true });
  }
}
