// The one wire protocol of the stream (Socket.IO, path /ws), shared by the gateway and
// the web client: every inbound message is validated by these schemas, and both ends'
// event maps are typed from them.
import { z } from 'zod';

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

/** A position's fingerprint: 12 base64url characters (see `Change.fp`). */
export const FINGERPRINT_LENGTH = 12;

/** Limits that keep one client from costing the gateway much. */
export const LIMITS = {
  filterColumns: 8,
  filterValueLength: 200,
  channelLength: 63,
} as const;

const filterValue = z.union([z.string().max(LIMITS.filterValueLength), z.number().finite(), z.boolean(), z.null()]);

export const subscribeSchema = z
  .object({
    channel: z.string().min(1).max(LIMITS.channelLength),
    filter: z
      .record(z.string(), filterValue)
      .superRefine((f, ctx) => {
        const keys = Object.keys(f);
        if (keys.length > LIMITS.filterColumns) ctx.addIssue({ code: 'custom', message: `at most ${LIMITS.filterColumns} filter columns` });
        for (const k of keys) {
          if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'filter keys are the row\'s field names, like projectId (column names like project_id work too)' });
        }
      })
      .optional(),
    since: z.number().int().min(0).optional(),
    /**
     * The fingerprint of the change at `since` (its `fp`), which the gateway compares with
     * the row it has at that seq before replaying anything: a `since` above 0 without it,
     * or with another, gets `resync` (`history-changed`).
     */
    fp: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'a fingerprint as a change carried it (base64url)')
      .max(64)
      .optional(),
    /** A list's cursor as the API gave it: opaque and signed by the server; one altered or made up is refused (BAD_REQUEST). */
    cursor: z.string().min(1).max(4096).optional(),
  })
  .strict();

export type SubscribeRequest = z.infer<typeof subscribeSchema>;
export type Filter = NonNullable<SubscribeRequest['filter']>;

export const unsubscribeSchema = z.object({ id: z.string().min(1).max(64) }).strict();
export type UnsubscribeRequest = z.infer<typeof unsubscribeSchema>;

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
export const authSchema = z.object({ token: z.string().min(1).max(4096) }).strict();
export type AuthRequest = z.infer<typeof authSchema>;
/** `expiresAt`: seconds since the epoch. */
export type AuthAck = { ok: true; expiresAt: number } | ErrorAck;

export type Op = 'INSERT' | 'UPDATE' | 'DELETE';
/** A row as the HTTP API returns it: camelCase keys, ISO timestamps. */
export type ApiRow = Record<string, unknown>;

/** One change as a subscription receives it. */
export interface Change {
  seq: number;
  op: Op;
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
 * cursor-invalid: no longer sent (a position ahead of the stream is `history-changed` since
 * protocol 3, and malformed input is refused with BAD_REQUEST; kept so that code handling it
 * still compiles); unavailable: the replay failed on
 * the server; membership: the user gained or lost a project this subscription covers (a
 * refetch shows exactly what the user may now see); history-changed: the position (since
 * and its fp, or the list cursor) is not in the stream's history: the database was restored
 * from a backup, rolled back, replaced by a replica that lacked the last transactions or by
 * another database, or outbox rows were removed by hand, so the seqs after it name other
 * changes than the ones the cache holds (or the position came without a fingerprint to
 * check it by). Nothing is replayed: refetch, and subscribe with the new list's cursor. */
export type ResyncReason = 'retention' | 'slow-client' | 'cursor-invalid' | 'unavailable' | 'membership' | 'history-changed';
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

/** The handshake: `io(url, { path: WS_PATH, auth: { token, v: PROTOCOL_VERSION } })`. */
export interface HandshakeAuth {
  token: string;
  v: number;
}

/** Who issues realtime tokens and who takes them: a JWT minted for anything else with the same secret is refused. */
export const TOKEN_ISSUER = 'realtime-outbox';
export const TOKEN_AUDIENCE = 'realtime-gateway';

/**
 * The claims of a service token (HS256, minted only by a backend that holds the secret;
 * the HTTP API never issues one). "*" grants everything of its kind.
 */
export const grantSchema = z.object({
  channels: z.array(z.string()).min(1),
  projects: z.array(z.string()).min(1),
});
export type Grant = z.infer<typeof grantSchema>;

/**
 * The claims of a user token (`GET /api/realtime/token`): the user (the grant is their
 * membership) and the session it was issued for (`sid`, its public id, never the cookie
 * or its hash): the token is worth nothing once that session ends. A user signed in by
 * an OpenID Connect bearer token has no session here, and their token no `sid`.
 */
export const userClaimsSchema = z.object({ uid: z.string().uuid(), sid: z.string().uuid().optional() });
export type UserClaims = z.infer<typeof userClaimsSchema>;

// The HTTP API's identity endpoints, shared by the API and the web app.

export type MemberRole = 'viewer' | 'editor' | 'owner';
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  operator: boolean;
}
/** `GET /api/auth/me` and `POST /api/auth/sign-in`. */
export interface Me {
  user: SessionUser;
  memberships: { projectId: string; role: MemberRole }[];
}
/** One row of `GET /api/projects/:id/members`. */
export interface Member {
  id: string;
  projectId: string;
  userId: string;
  role: MemberRole;
  email: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * A pending invitation as its project's owners see it (`GET /api/projects/:id/invitations`,
 * and the answer to inviting): the address as given, never whether it has an account.
 */
export interface Invitation {
  id: string;
  projectId: string;
  email: string;
  role: MemberRole;
  /** The owner who invited, null once their account is gone. */
  invitedBy: string | null;
  createdAt: string;
  updatedAt: string;
}
/** One of the signed-in user's own pending invitations (`GET /api/invitations`). */
export interface MyInvitation {
  id: string;
  projectId: string;
  projectName: string;
  role: MemberRole;
  invitedBy: { name: string; email: string } | null;
  createdAt: string;
}

/** One line per zod issue, naming the field: what a client reads in an error ack. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'message'}: ${i.message}`).join('; ');
}

// The outbox over HTTP (/api/outbox/...), shared by the API and the Outbox page.

export interface ColumnChange {
  column: string;
  from: unknown;
  to: unknown;
}

/** One change of a row, with the columns it changed. */
export interface HistoryEntry {
  seq: number | null;
  op: string;
  actor: string | null;
  committedAt: string | null;
  createdAt: string;
  txid: string;
  changes: ColumnChange[];
}

export interface OutboxStats {
  mode: string;
  reason: string | null;
  leader: string | null;
  headSeq: number;
  backlog: number;
  oldestUnstampedAgeSeconds: number | null;
  slotName: string | null;
  slotStatus: string | null;
  slotLagBytes: number | null;
  retentionFloor: number;
  oldestChange: string | null;
  newestChange: string | null;
  gateways: { url: string; sockets: number | null; subscriptions: number | null; error?: string }[];
  warnings: string[];
}
