// Each socket from handshake to close: its principal (token, session, the user's shared
// history), its token's expiry and refresh, the answers to messages it gets wrong, and
// what happens when it stops reading (its subscriptions resync; still stalled after the
// grace, it is closed).
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import type { AuthAck, ErrorAck, ErrorCode, UnauthorizedReason } from '@realtime/protocol';
import { authSchema, describeIssues } from '@realtime/protocol/validate';
import { verifyToken } from '@realtime/auth';
import { SessionEndedError, SessionWatch, readSession, sessionEndMessage } from '../auth/sessions';
import * as metrics from '../metrics';
import type { Feed } from '../feed';
import { TokenBucket } from '../limits/rate';
import { SocketBytes } from '../limits/socket-bytes';
import { Turns } from '../limits/turns';
import { overBound, stalledVerdict, type GatewayLimits } from '../limits/limits';
import type { LimitNotes } from '../limits/notes';
import type { Registry } from '../subscriptions/registry';
import { expiryDelay, protocolRefusal, sameIdentity, splitAck } from './handshake';
import { who, type Counters, type GatewaySocket } from './socket';

export const fail = (code: ErrorCode, message: string): ErrorAck => ({ ok: false, error: { code, message } });

/** A bound that refuses a connection, with the code the client gets. */
class LimitError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectionsOptions {
  replayPool: pg.Pool;
  feed: Feed;
  jwtSecret: Uint8Array;
  limits: GatewayLimits;
  log: Logger;
  notes: LimitNotes;
  counters: Counters;
  registry: Registry;
}

/** What a connected socket's events go to. */
export interface SocketHandlers {
  subscribe(socket: GatewaySocket, req: unknown, ack: unknown): Promise<void>;
  unsubscribe(socket: GatewaySocket, req: unknown, ack: unknown): void;
}

export class Connections {
  /** The sessions of user sockets: a session's end from the feed closes them (auth/sessions.ts). */
  readonly sessions: SessionWatch<GatewaySocket>;

  constructor(private readonly opts: ConnectionsOptions) {
    this.sessions = new SessionWatch<GatewaySocket>({
      read: (sid, userId) => readSession(opts.replayPool, sid, userId),
      end: (socket, reason) => this.end(socket, reason, sessionEndMessage(reason)),
    });
  }

  /** Socket.IO middleware: the protocol version, then the token, the session and the user's place. */
  handshake = (socket: GatewaySocket, next: (err?: Error) => void): void => {
    const refusal = protocolRefusal((socket.handshake.auth as { v?: unknown } | undefined)?.v);
    if (refusal !== null) {
      metrics.badMessagesTotal.inc({ code: 'PROTOCOL_VERSION' });
      return next(Object.assign(new Error(`PROTOCOL_VERSION: ${refusal}`), { data: { code: 'PROTOCOL_VERSION' } }));
    }
    const { limits, registry } = this.opts;
    verifyToken(this.opts.jwtSecret, (socket.handshake.auth as { token?: unknown } | undefined)?.token)
      .then(async (v) => {
        socket.data.principal = v.principal;
        socket.data.subject = v.subject;
        socket.data.subs = new Map();
        socket.data.badMessages = 0;
        socket.data.expiry = null;
        socket.data.queue = new SocketBytes(socket.conn as never);
        socket.data.subscribes = new TokenBucket(limits.subscribesPerSecond);
        socket.data.pages = new Turns(1);
        socket.data.replays = new Turns(limits.maxReplaysPerUser);
        socket.data.slowCheck = null;
        await this.sessions.attach(socket, v.principal);
        if (v.principal.kind === 'user') {
          const replays = await registry.attachUser(v.principal.userId, socket);
          if (replays === 'refused') {
            this.opts.notes.hit('sockets_per_user', { user: v.principal.userId });
            metrics.badMessagesTotal.inc({ code: 'TOO_MANY_SOCKETS' });
            throw new LimitError('TOO_MANY_SOCKETS', `at most ${limits.maxSocketsPerUser} connections per user (MAX_SOCKETS_PER_USER); close another tab or connection`);
          }
          socket.data.replays = replays;
        }
        this.armExpiry(socket, v.expiresAt);
        next();
      })
      .catch((err: Error) => {
        if (socket.data.principal?.kind === 'user') registry.detachUser(socket.data.principal.userId, socket);
        this.sessions.detach(socket);
        const code: ErrorCode = err instanceof LimitError ? err.code : 'UNAUTHORIZED';
        // A session's end says which: the client signs in again rather than asking for a token.
        next(Object.assign(new Error(`${code}: ${err.message}`), { data: err instanceof SessionEndedError ? { code, reason: err.reason } : { code } }));
      });
  };

  /** A socket past the handshake: its events, and its close. */
  connected(socket: GatewaySocket, handlers: SocketHandlers): void {
    socket.on('subscribe', (...args: unknown[]) => {
      const [req, ack] = splitAck(args);
      void handlers.subscribe(socket, req, ack);
    });
    socket.on('unsubscribe', (...args: unknown[]) => {
      const [req, ack] = splitAck(args);
      handlers.unsubscribe(socket, req, ack);
    });
    socket.on('auth', (...args: unknown[]) => {
      const [req, ack] = splitAck(args);
      void this.refresh(socket, req, ack);
    });
    socket.onAny((event: string, ...args: unknown[]) => {
      if (event === 'subscribe' || event === 'unsubscribe' || event === 'auth') return;
      this.bad(socket, args[args.length - 1], `unknown event "${String(event).slice(0, 40)}": the gateway takes subscribe, unsubscribe and auth`);
    });
    socket.on('disconnect', () => this.cleanup(socket));
    this.sessions.connected(socket);
  }

  cleanup(socket: GatewaySocket): void {
    if (socket.data.expiry) clearTimeout(socket.data.expiry);
    socket.data.expiry = null;
    if (socket.data.slowCheck) clearTimeout(socket.data.slowCheck);
    socket.data.slowCheck = null;
    this.opts.registry.closeAll(socket);
    if (socket.data.principal?.kind === 'user') this.opts.registry.detachUser(socket.data.principal.userId, socket);
    this.sessions.detach(socket);
  }

  /** An error acknowledgement (when the client asked for one), logged once per socket. */
  bad(socket: GatewaySocket, ack: unknown, message: string, code: ErrorCode = 'BAD_REQUEST'): void {
    this.opts.counters.badMessages++;
    metrics.badMessagesTotal.inc({ code });
    socket.data.badMessages++;
    if (socket.data.badMessages === 1) this.opts.log.warn({ socket: socket.id, code, message }, 'refused a client message (further ones from this socket are counted, not logged)');
    if (typeof ack === 'function') (ack as (r: ErrorAck) => void)(fail(code, message));
  }

  /** Whether what waits for the socket has passed its bound (a live batch for it is not written). */
  over(socket: GatewaySocket): boolean {
    return overBound(socket.data.queue.bytes, this.opts.limits);
  }

  /** The socket is over its bound: every subscription of it resyncs, and it costs nothing more. */
  slow(socket: GatewaySocket): void {
    const { registry, limits, notes } = this.opts;
    notes.hit('socket_queue_bytes', { ...who(socket), bytes: socket.data.queue.bytes });
    for (const sub of [...socket.data.subs.values()]) registry.resync(sub, 'slow-client', this.opts.feed.position);
    // What already waits for it stays until it reads: a socket that still has not read
    // half of it after the same grace is closed, and its buffers go with it.
    if (socket.data.slowCheck) return;
    socket.data.slowCheck = setTimeout(() => {
      socket.data.slowCheck = null;
      if (stalledVerdict(socket.data.queue.bytes, socket.connected, limits) === 'close') {
        notes.hit('slow_socket_closed', who(socket));
        socket.disconnect(true);
      }
    }, limits.slowClientMs);
  }

  /** Told why, then closed: it stops receiving at once. */
  end(socket: GatewaySocket, reason: UnauthorizedReason, message: string): void {
    this.cleanup(socket);
    socket.emit('unauthorized', { reason, message });
    socket.disconnect(true);
  }

  /** A socket whose token expires unrefreshed is told why, then closed: it stops receiving. */
  private armExpiry(socket: GatewaySocket, expiresAt: number | null): void {
    if (socket.data.expiry) clearTimeout(socket.data.expiry);
    socket.data.expiry = null;
    const ms = expiryDelay(expiresAt, Date.now());
    if (ms === null) return;
    socket.data.expiry = setTimeout(() => this.end(socket, 'expired', 'the token expired: fetch a new one (GET /api/realtime/token), reconnect and resume'), ms);
  }

  /** A fresh token for the same identity: the socket and its subscriptions go on. */
  private async refresh(socket: GatewaySocket, req: unknown, ack: unknown): Promise<void> {
    const parsed = authSchema.safeParse(req);
    if (!parsed.success) return this.bad(socket, ack, describeIssues(parsed.error));
    try {
      const v = await verifyToken(this.opts.jwtSecret, parsed.data.token);
      if (!sameIdentity(socket.data.principal, v.principal)) return this.bad(socket, ack, 'the new token names another identity: connect again with it instead', 'FORBIDDEN');
      await this.sessions.refresh(socket, v.principal);
      if (!socket.connected) return;
      this.armExpiry(socket, v.expiresAt);
      if (typeof ack === 'function') (ack as (r: AuthAck) => void)({ ok: true, expiresAt: v.expiresAt ?? 0 });
    } catch (err) {
      this.bad(socket, ack, (err as Error).message, 'UNAUTHORIZED');
    }
  }
}
