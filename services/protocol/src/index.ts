// The one wire protocol of the stream (Socket.IO, path /ws), shared by the gateway and
// the web client: plain types and constants only, so that a browser bundle carries no
// validator. The gateway validates every inbound message with the schemas of
// `@realtime/protocol/validate`, which are checked against these types.

export const WS_PATH = '/ws';

/**
 * The protocol's version, sent in the handshake (`auth: { token, v }`). 2: changes come in
 * batches (`changes`), one message per subscription per feed batch or replay page. 3:
 * positions carry the fingerprint of the history they came from (`Change.fp`, `subscribe`'s
 * `fp`, the list cursor's), and a resume from another history gets `resync`
 * (`history-changed`). A client that sends another version (or none: version 1 sent
 * `change` one at a time) is refused with PROTOCOL_VERSION rather than left to misread
 * the stream or resume unchecked.
 */
export const PROTOCOL_VERSION = 3;

/** Limits that keep one client from costing the gateway much. */
export const LIMITS = {
  filterColumns: 8,
  filterValueLength: 200,
  channelLength: 63,
} as const;

/** A filter value: equality on a string (at most LIMITS.filterValueLength), a number, a boolean or null. */
export type FilterValue = string | number | boolean | null;
/**
 * Equality on the rows' field names (camelCase, `projectId`; column names, `project_id`,
 * work too), at most LIMITS.filterColumns of them.
 */
export type Filter = Record<string, FilterValue>;

export interface SubscribeRequest {
  /** The channel: a table the gateway streams (at most LIMITS.channelLength characters). */
  channel: string;
  filter?: Filter;
  /** The seq of the last change the client applied: the replay starts after it. */
  since?: number;
  /**
   * The fingerprint of the change at `since` (its `fp`), which the gateway compares with
   * the row it has at that seq before replaying anything: a `since` above 0 without it,
   * or with another, gets `resync` (`history-changed`).
   */
  fp?: string;
  /** A list's cursor as the API gave it: opaque and signed by the server; one altered or made up is refused (BAD_REQUEST). */
  cursor?: string;
}

export interface UnsubscribeRequest {
  id: string;
}

export const errorCodes = [
  'BAD_REQUEST',
  'UNKNOWN_CHANNEL',
  'FORBIDDEN',
  // Bounds: which one was reached (MAX_SUBSCRIPTIONS_PER_SOCKET, MAX_SOCKETS_PER_USER at
  // the handshake, SUBSCRIBES_PER_SECOND).
  'TOO_MANY_SUBSCRIPTIONS',
  'TOO_MANY_SOCKETS',
  'RATE_LIMITED',
  'NOT_FOUND',
  'UNAUTHORIZED',
  // The handshake's protocol version is not this gateway's (PROTOCOL_VERSION).
  'PROTOCOL_VERSION',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorAck {
  ok: false;
  error: { code: ErrorCode; message: string };
}
export type SubscribeAck = { ok: true; id: string; headSeq: number } | ErrorAck;
export type UnsubscribeAck = { ok: true } | ErrorAck;

/** A fresh token for the same user, sent before the old one expires: subscriptions go on. */
export interface AuthRequest {
  token: string;
}
/** `expiresAt`: seconds since the epoch. */
export type AuthAck = { ok: true; expiresAt: number } | ErrorAck;

/** What a change did to its row: the one op type of the stream, the outbox and the client. */
export const changeOps = ['INSERT', 'UPDATE', 'DELETE'] as const;
export type ChangeOp = (typeof changeOps)[number];
/** A row as the HTTP API returns it: camelCase keys, ISO timestamps. */
export type ApiRow = Record<string, unknown>;

/** One change as a subscription receives it. */
export interface Change {
  seq: number;
  op: ChangeOp;
  /** The new row; null for DELETE. */
  row: ApiRow | null;
  /** The previous row; null for INSERT. */
  old: ApiRow | null;
  committedAt: string;
  /**
   * The fingerprint of this position in the stream's history: a hash of the outbox row
   * stamped `seq` (its id, txid and commit time). Resume with `since: seq` and `fp` of the
   * same change: a database restored, rolled back or swapped since then gives this seq to
   * another change, and the gateway answers `resync` (`history-changed`) instead of a
   * replay of another history on top of this one. A protocol 3 gateway always sends it
   * (optional in the type only so that changes made by hand, in tests, need not invent one).
   */
  fp?: string;
  /**
   * The transaction that produced the change (`txid_current()` as text): the API answers a
   * write with it (`Realtime-Txid`), so a client confirms its write when the change
   * arrives here, the same commit every other reader sees. A protocol 3 gateway always
   * sends it.
   */
  txid?: string;
}
/**
 * A batch of one subscription's changes: seq ascending inside the batch and across the
 * batches of a subscription. Apply it in one cache update.
 */
export interface ChangesEvent {
  sub: string;
  channel: string;
  changes: Change[];
}
/** One change with its subscription and channel: a batch taken apart (`unbatch`). */
export interface ChangeEvent extends Change {
  sub: string;
  channel: string;
}

export function unbatch(e: ChangesEvent): ChangeEvent[] {
  return e.changes.map((c) => ({ ...c, sub: e.sub, channel: e.channel }));
}
export interface LiveEvent {
  sub: string;
  seq: number;
}
/** retention: since is older than what is kept; slow-client: the socket fell too far behind;
 * unavailable: the replay failed on the server; membership: the user gained or lost a project this subscription covers (a
 * refetch shows exactly what the user may now see); history-changed: the position (since
 * and its fp, or the list cursor) is not in the stream's history: the database was restored
 * from a backup, rolled back, replaced by a replica that lacked the last transactions or by
 * another database, or outbox rows were removed by hand, so the seqs after it name other
 * changes than the ones the cache holds (or the position came without a fingerprint to
 * check it by). Nothing is replayed: refetch, and subscribe with the new list's cursor. */
export type ResyncReason = 'retention' | 'slow-client' | 'unavailable' | 'membership' | 'history-changed';
export interface ResyncEvent {
  sub: string;
  reason: ResyncReason;
  headSeq: number;
}

/**
 * Why a user's session ended, as the outbox records it: signed out (this session, or
 * every session of the user at once), a password reset (every session), the user
 * removed, or the session deleted some other way. Its sockets are closed at that change.
 */
export const sessionEndReasons = ['signed-out', 'signed-out-everywhere', 'password-reset', 'user-removed', 'session-ended'] as const;
export type SessionEndReason = (typeof sessionEndReasons)[number];
/** expired: the token ran out unrefreshed (fetch a new one); any other: the session is over (sign in again). */
export type UnauthorizedReason = 'expired' | SessionEndReason;

export const isSessionEnd = (reason: unknown): reason is SessionEndReason => (sessionEndReasons as readonly unknown[]).includes(reason);

/**
 * Sent just before the server closes a socket: its token expired unrefreshed, or the
 * session it was issued for ended. A handshake refused for an ended session carries the
 * same reason in the error's `data.reason`.
 */
export interface UnauthorizedEvent {
  reason: UnauthorizedReason;
  message: string;
}

export interface ClientToServerEvents {
  subscribe: (req: SubscribeRequest, ack: (res: SubscribeAck) => void) => void;
  unsubscribe: (req: UnsubscribeRequest, ack: (res: UnsubscribeAck) => void) => void;
  auth: (req: AuthRequest, ack: (res: AuthAck) => void) => void;
}
export interface ServerToClientEvents {
  changes: (e: ChangesEvent) => void;
  live: (e: LiveEvent) => void;
  resync: (e: ResyncEvent) => void;
  unauthorized: (e: UnauthorizedEvent) => void;
}

/** Who issues realtime tokens and who takes them: a JWT minted for anything else with the same secret is refused. */
export const TOKEN_ISSUER = 'realtime-outbox';
export const TOKEN_AUDIENCE = 'realtime-gateway';

/**
 * The claims of a service token (HS256, minted only by a backend that holds the secret;
 * the HTTP API never issues one). "*" grants everything of its kind.
 */
export interface Grant {
  /** Channels it may subscribe to (at least one). */
  channels: string[];
  /** Projects whose rows it may read (at least one). */
  projects: string[];
}

/**
 * The claims of a user token (`GET /api/realtime/token`): the user (the grant is their
 * membership) and the session it was issued for (`sid`, its public id, never the cookie
 * or its hash): the token is worth nothing once that session ends. A user signed in by
 * an OpenID Connect bearer token has no session here, and their token no `sid`.
 */
export interface UserClaims {
  /** The user's id (a uuid). */
  uid: string;
  /** The session's public id (a uuid). */
  sid?: string;
}

/**
 * The snapshot a page was read in, as a client needs it to tell which stream changes the
 * page already holds: those stamped at or below `head`, and those whose transaction
 * (`Change.txid`) the snapshot sees (`xmin`/`xmax`/`xip` as pg_current_snapshot() gives
 * them, 64-bit transaction ids as decimal strings). See `snapshotHolds`.
 */
export interface PageSnapshot {
  head: number;
  xmin: string;
  xmax: string;
  xip: string[];
}

/**
 * A list's order: by `by` (a field of the rows, as they arrive), then by the key `key`,
 * both ascending, or both descending with `desc`. Sort values are compared as they
 * arrive: numbers as numbers, strings (ISO timestamps in UTC to the millisecond, uuids)
 * by their characters, exactly as the server orders them.
 */
export interface ListOrder {
  by: string;
  desc: boolean;
  key: string;
}

/**
 * Where a list's paging stands. `next` is the opaque keyset cursor of the rows after
 * this page (pass it back as `after`), null on the last page; `total` is the exact size
 * of the filtered set, read in the same snapshot as the rows and the stream cursor.
 */
export interface PageInfo {
  next: string | null;
  total: number;
  limit: number;
  order: ListOrder;
  snapshot: PageSnapshot;
}

/** Whether a page read in `snapshot` already holds this change (`seq` and `txid` of a stream change). */
export function snapshotHolds(snapshot: PageSnapshot, change: { seq: number; txid?: string }): boolean {
  if (change.seq <= snapshot.head) return true;
  if (change.txid === undefined) return false;
  const txid = BigInt(change.txid);
  if (txid < BigInt(snapshot.xmin)) return true;
  if (txid >= BigInt(snapshot.xmax)) return false;
  return !snapshot.xip.includes(change.txid);
}

export interface ListPage<Row> {
  items: Row[];
  cursor: string;
  page: PageInfo;
}
