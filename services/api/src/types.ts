// The HTTP API's answers as the web app reads them: types only (the web app imports them
// with `import type`, so nothing of the server reaches its bundle). The stream's own types
// are in @realtime/protocol; a list's answer is its `ListPage`.
import type { MemberRole } from '@realtime/db/schema';
import type { ChangeOp } from '@realtime/protocol';

export type { MemberRole };
export type { ListPage, PageInfo } from '@realtime/protocol';

// The identity endpoints.

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

/** `GET /api/projects/:id/members?limit&after`: members in email order, a page at a time; `next` is the `after` of the next page (null on the last), `total` the project's member count read with the page. */
export interface MembersPage {
  items: Member[];
  page: { limit: number; next: string | null; total: number };
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

// The outbox over HTTP (/api/outbox/...), for operators.

export interface ColumnChange {
  column: string;
  from: unknown;
  to: unknown;
}

/** One change of a row, with the columns it changed. */
export interface HistoryEntry {
  seq: number | null;
  op: ChangeOp;
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
