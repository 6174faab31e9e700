// The one wire protocol of the stream (Socket.IO, path /ws), shared by the gateway and
// the web client: every inbound message is validated by these schemas, and both ends'
// event maps are typed from them.
import { z } from 'zod';

export const WS_PATH = '/ws';

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
          if (!/^[a-z_][a-z0-9_]{0,62}$/.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'filter columns are database column names, like project_id' });
        }
      })
      .optional(),
    since: z.number().int().min(0).optional(),
    cursor: z.string().min(1).max(4096).optional(),
  })
  .strict();

export type SubscribeRequest = z.infer<typeof subscribeSchema>;
export type Filter = NonNullable<SubscribeRequest['filter']>;

export const unsubscribeSchema = z.object({ id: z.string().min(1).max(64) }).strict();
export type UnsubscribeRequest = z.infer<typeof unsubscribeSchema>;

export const errorCodes = ['BAD_REQUEST', 'UNKNOWN_CHANNEL', 'FORBIDDEN', 'TOO_MANY_SUBSCRIPTIONS', 'NOT_FOUND', 'INTERNAL'] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorAck {
  ok: false;
  error: { code: ErrorCode; message: string };
}
export type SubscribeAck = { ok: true; id: string; headSeq: number } | ErrorAck;
export type UnsubscribeAck = { ok: true } | ErrorAck;

export type Op = 'INSERT' | 'UPDATE' | 'DELETE';
/** A row as the HTTP API returns it: camelCase keys, ISO timestamps. */
export type ApiRow = Record<string, unknown>;

export interface ChangeEvent {
  sub: string;
  seq: number;
  channel: string;
  op: Op;
  /** The new row; null for DELETE. */
  row: ApiRow | null;
  /** The previous row; null for INSERT. */
  old: ApiRow | null;
  committedAt: string;
}
export interface LiveEvent {
  sub: string;
  seq: number;
}
/** retention: since is older than what is kept; slow-client: the socket fell too far behind;
 * cursor-invalid: since is ahead of the stream; unavailable: the replay failed on the server. */
export type ResyncReason = 'retention' | 'slow-client' | 'cursor-invalid' | 'unavailable';
export interface ResyncEvent {
  sub: string;
  reason: ResyncReason;
  headSeq: number;
}

export interface ClientToServerEvents {
  subscribe: (req: SubscribeRequest, ack: (res: SubscribeAck) => void) => void;
  unsubscribe: (req: UnsubscribeRequest, ack: (res: UnsubscribeAck) => void) => void;
}
export interface ServerToClientEvents {
  change: (e: ChangeEvent) => void;
  live: (e: LiveEvent) => void;
  resync: (e: ResyncEvent) => void;
}

/** The handshake: `io(url, { path: WS_PATH, auth: { token } })`. */
export interface HandshakeAuth {
  token: string;
}

/** The claims of a realtime token (HS256). "*" grants everything of its kind. */
export const grantSchema = z.object({
  channels: z.array(z.string()).min(1),
  projects: z.array(z.string()).min(1),
});
export type Grant = z.infer<typeof grantSchema>;

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
