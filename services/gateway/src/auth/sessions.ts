// The sessions user sockets were opened for, and their ends. A user token names its
// session (`sid`); a session's end is a session_ends change in the outbox, applied in seq
// order like a revocation, so every socket of that session is told why and closed there.
import type pg from 'pg';
import { isSessionEnd, type SessionEndReason } from '@realtime/protocol';
import type { Principal } from '@realtime/auth';

/** The table whose inserts record a session's end (not a channel: the catalog does not list it). */
export const SESSION_ENDS_TABLE = 'session_ends';

export interface SessionEnd {
  sid: string;
  userId: string;
  reason: SessionEndReason;
}

/** The end a change records, or null for any other change. An unknown reason counts as a plain end. */
export function sessionEnd(change: { table: string; op: string; newRow: Record<string, unknown> | null }): SessionEnd | null {
  if (change.table !== SESSION_ENDS_TABLE || change.op !== 'INSERT') return null;
  const sid = change.newRow?.id;
  const userId = change.newRow?.user_id;
  if (typeof sid !== 'string' || typeof userId !== 'string') return null;
  const reason = change.newRow?.reason;
  return { sid, userId, reason: isSessionEnd(reason) ? reason : 'session-ended' };
}

const MESSAGES: Record<SessionEndReason, string> = {
  'signed-out': 'this session was signed out: sign in again',
  'signed-out-everywhere': 'every session of this user was signed out: sign in again',
  'password-reset': 'the password was reset, which ends every session: sign in again with the new password',
  'user-removed': 'this user was removed: ask an operator for an account',
  'session-ended': 'this session ended: sign in again',
};

export const sessionEndMessage = (reason: SessionEndReason): string => MESSAGES[reason];

/** A token whose session has ended: refused at the handshake and at `auth`. */
export class SessionEndedError extends Error {
  constructor(readonly reason: SessionEndReason) {
    super(MESSAGES[reason]);
  }
}

/** Whether the session is live, and if it ended early, why. */
export interface SessionState {
  live: boolean;
  ended: SessionEndReason | null;
}

/** Two lookups by primary key or unique index: what one handshake of a session costs. */
export async function readSession(pool: pg.Pool, sid: string, userId: string): Promise<SessionState> {
  const { rows } = await pool.query<{ live: boolean; ended: string | null }>(
    `SELECT EXISTS (SELECT 1 FROM sessions WHERE sid = $1 AND user_id = $2 AND expires_at > now()) AS live,
            (SELECT reason FROM session_ends WHERE id = $1) AS ended`,
    [sid, userId],
  );
  const ended = rows[0]?.ended ?? null;
  return { live: rows[0]?.live === true, ended: ended === null ? null : isSessionEnd(ended) ? ended : 'session-ended' };
}

interface Entry<S> {
  sid: string;
  userId: string;
  /** Sockets that hold a token of this session: its end closes them. */
  sockets: Set<S>;
  /**
   * Sockets whose check of this session is running (a handshake, or an `auth` with a token
   * of it): its end refuses them, and a socket refreshing keeps the session it has.
   */
  joining: Set<S>;
  /** The one read of this session on this gateway, shared by every socket that joins it. */
  state: Promise<SessionState>;
  /** Set by the feed's end: sockets still in their handshake are refused with it. */
  ended: SessionEndReason | null;
}

export interface SessionWatchOptions<S> {
  read: (sid: string, userId: string) => Promise<SessionState>;
  /** Tells a connected socket why and closes it. */
  end: (socket: S, reason: SessionEndReason) => void;
}

/**
 * Each session with sockets on this gateway, read once while it has any: an end that
 * reaches the feed after a socket joined closes it, and one committed before the read is
 * what the read sees. Sockets without a session (service tokens, OpenID Connect users) are
 * not watched.
 */
export class SessionWatch<S extends { connected: boolean }> {
  private readonly bySid = new Map<string, Entry<S>>();
  private readonly ofSocket = new WeakMap<S, Entry<S>>();

  constructor(private readonly opts: SessionWatchOptions<S>) {}

  get size(): number {
    return this.bySid.size;
  }

  /** At the handshake: throws SessionEndedError when the token's session is over. */
  async attach(socket: S, principal: Principal): Promise<void> {
    if (principal.kind !== 'user' || !principal.sessionId) return;
    const entry = await this.join(socket, principal.sessionId, principal.userId);
    this.ofSocket.set(socket, entry);
  }

  /** Once the handshake is done: an end applied while it finished closes the socket now. */
  connected(socket: S): void {
    const entry = this.ofSocket.get(socket);
    if (entry?.ended) this.opts.end(socket, entry.ended);
  }

  /**
   * At `auth`, with the new token's principal (same user): the same session costs nothing;
   * another one is checked like a handshake, and the socket moves to it. A socket bound to
   * a session cannot shed it with a token that names none.
   */
  async refresh(socket: S, principal: Principal): Promise<void> {
    if (principal.kind !== 'user') return;
    const was = this.ofSocket.get(socket);
    const sid = principal.sessionId;
    if (was && !sid) throw new Error('the new token names no session, and this connection belongs to one: connect again with it instead');
    if (!sid || was?.sid === sid) {
      if (was?.ended) throw new SessionEndedError(was.ended);
      return;
    }
    const entry = await this.join(socket, sid, principal.userId);
    if (was) this.leave(socket, was);
    this.ofSocket.set(socket, entry);
  }

  /**
   * Before a replay: the replay reads up to a head the feed may not have reached, and an
   * end already in the outbox must not let it send what followed. One read; an end found
   * closes every socket of the session, as the feed's will. False when this socket's
   * session has ended (the socket is then closed, or closing).
   */
  async confirm(socket: S): Promise<boolean> {
    const entry = this.ofSocket.get(socket);
    if (!entry) return true;
    if (entry.ended) return false;
    const state = await this.opts.read(entry.sid, entry.userId);
    // An expired session recorded no end: its sockets live out their tokens, as on the live stream.
    if (!state.ended) return true;
    if (!entry.ended) this.endEntry(entry, state.ended);
    return false;
  }

  detach(socket: S): void {
    const entry = this.ofSocket.get(socket);
    if (!entry) return;
    this.ofSocket.delete(socket);
    this.leave(socket, entry);
  }

  /** A session_ends change from the feed, in seq order: that session's sockets are closed. */
  apply(change: { table: string; op: string; newRow: Record<string, unknown> | null }): void {
    const end = sessionEnd(change);
    const entry = end && this.bySid.get(end.sid);
    if (!end || !entry) return;
    this.endEntry(entry, end.reason);
  }

  private endEntry(entry: Entry<S>, reason: SessionEndReason): void {
    entry.ended = reason;
    if (this.bySid.get(entry.sid) === entry) this.bySid.delete(entry.sid);
    for (const socket of [...entry.sockets]) if (socket.connected) this.opts.end(socket, reason);
  }

  /** Registers the socket first, then awaits the session's read: no end can fall between them. */
  private async join(socket: S, sid: string, userId: string): Promise<Entry<S>> {
    let entry = this.bySid.get(sid);
    // A session is one user's: a token that pairs it with another user names no live session.
    if (entry && entry.userId !== userId) throw new SessionEndedError('session-ended');
    if (!entry) {
      entry = { sid, userId, sockets: new Set(), joining: new Set(), state: this.opts.read(sid, userId), ended: null };
      entry.state.catch(() => undefined);
      this.bySid.set(sid, entry);
    }
    entry.joining.add(socket);
    let state: SessionState;
    try {
      state = await entry.state;
    } catch (err) {
      this.leave(socket, entry);
      // The next socket of this session reads again.
      if (this.bySid.get(sid) === entry) this.bySid.delete(sid);
      throw new Error(`the gateway could not check your session (${(err as Error).message}); try again`);
    }
    const ended = entry.ended ?? (state.live ? null : (state.ended ?? 'session-ended'));
    if (ended) {
      this.leave(socket, entry);
      throw new SessionEndedError(ended);
    }
    entry.joining.delete(socket);
    entry.sockets.add(socket);
    return entry;
  }

  private leave(socket: S, entry: Entry<S>): void {
    entry.sockets.delete(socket);
    entry.joining.delete(socket);
    // A session nobody uses here is forgotten; the next socket of it reads it again.
    if (entry.sockets.size === 0 && entry.joining.size === 0 && this.bySid.get(entry.sid) === entry) this.bySid.delete(entry.sid);
  }
}
