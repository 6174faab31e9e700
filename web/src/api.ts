// The HTTP API, typed: the session (sign-in, me, sign-out, sign-out everywhere), lists with their stream
// cursor, project members and invitations. Row writes go through the write queue (writes.tsx). The
// server takes the actor from the session cookie.
import type { HistoryEntry, Invitation, Me, Member, MemberRole, MembersPage, MyInvitation, OutboxStats } from '@realtime/api/types';
import type { ListPage, Row } from '@realtime/client';
import { rememberMe, rememberedMe } from './offline-me';

export type { Row };

export type Resource = 'projects' | 'extraction-jobs' | 'extraction-results' | 'data-layers' | 'supplier-matches';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    /** The server's code (UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, BAD_REQUEST...). */
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const isApiError = (e: unknown, status?: number): e is ApiError => e instanceof ApiError && (status === undefined || e.status === status);

/** Retry only what may pass: a 4xx answer (signed out, forbidden, gone) would come back the same. */
export const retryable = (failureCount: number, error: unknown): boolean => !(isApiError(error) && error.status < 500) && failureCount < 1;

const signedOutListeners = new Set<() => void>();

/**
 * Called on any 401 but a refused sign-in: the session is gone (expired, or signed out in
 * another tab), whichever request found out first.
 */
export function onSignedOut(fn: () => void): () => void {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/api/${path}`, {
    method,
    signal,
    // The API takes POST, PUT and PATCH only as JSON, with or without a body (a form from another site cannot say it).
    headers: body === undefined && (method === 'GET' || method === 'DELETE') ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; fields?: Record<string, string> } };
  if (!res.ok) {
    const error = new ApiError(res.status, json.error?.code ?? `HTTP_${res.status}`, json.error?.message ?? `${method} /api/${path} failed (${res.status})`, json.error?.fields);
    // A refused sign-in is a wrong password, not a lost session.
    if (res.status === 401 && path !== 'auth/sign-in') for (const fn of [...signedOutListeners]) fn();
    throw error;
  }
  return json as T;
}

export const api = {
  /** The signed-in user and their memberships, or null when signed out. */
  me: () =>
    request<Me>('GET', 'auth/me').then(rememberMe, (e: unknown) => {
      if (isApiError(e, 401)) return rememberMe(null);
      // No answer at all (offline, server down): the user this browser last saw signed in.
      if (!(e instanceof ApiError)) return rememberedMe() ?? Promise.reject(e);
      return Promise.reject(e);
    }),
  signIn: (email: string, password: string) =>
    request<Me>('POST', 'auth/sign-in', { email, password }).then((me) => {
      rememberMe(me);
      return me;
    }),
  signOut: () => request<void>('POST', 'auth/sign-out'),
  /** Ends every session of the user, this one included: every device signs in again. */
  signOutEverywhere: () => request<{ ended: number }>('POST', 'auth/sign-out-everywhere', {}),
  /** A short list read whole (projects, a project's data layers): at most 200 rows. */
  list: <T extends Row>(resource: Resource, params: Record<string, string> = {}) =>
    request<ListPage<T>>('GET', `${resource}?${new URLSearchParams({ limit: '200', ...params })}`),
  /** One keyset page of a list: the rows after `after` (the previous page's `page.next`; null for the first). */
  page: <T extends Row>(resource: Resource, q: PageQuery) => request<ListPage<T>>('GET', `${resource}?${pageParams(q)}`, undefined, q.signal),
  get: <T extends Row>(resource: Resource, id: string) => request<T>('GET', `${resource}/${id}`),
  /** A page of a project's members in email order: after `after` (the previous page's `page.next`), with the member count. */
  members: (projectId: string, after: string | null = null, signal?: AbortSignal) =>
    request<MembersPage>('GET', `projects/${projectId}/members?${new URLSearchParams(after ? { limit: '100', after } : { limit: '100' })}`, undefined, signal),
  setRole: (projectId: string, userId: string, role: MemberRole) => request<Member>('PATCH', `projects/${projectId}/members/${userId}`, { role }),
  /** The same answer whether or not the address has an account: it joins once its invitee accepts. */
  invite: (projectId: string, email: string, role: MemberRole) => request<Invitation>('POST', `projects/${projectId}/invitations`, { email, role }),
  invitations: (projectId: string) => request<{ items: Invitation[] }>('GET', `projects/${projectId}/invitations`),
  cancelInvitation: (projectId: string, id: string) => request<void>('DELETE', `projects/${projectId}/invitations/${id}`),
  /** The signed-in user's own pending invitations. */
  myInvitations: () => request<{ items: MyInvitation[] }>('GET', 'invitations'),
  acceptInvitation: (id: string) => request<Member>('POST', `invitations/${id}/accept`),
  declineInvitation: (id: string) => request<void>('DELETE', `invitations/${id}`),
  removeMember: (projectId: string, userId: string) => request<void>('DELETE', `projects/${projectId}/members/${userId}`),
  token: () => request<{ token: string; expiresAt: string }>('GET', 'realtime/token'),
  /** The outbox's own list, newest first, paged by position (`before` = the previous `page.next`); `total` is exact up to 10,000 (`totalCapped` beyond). */
  outbox: (params: Record<string, string>, signal?: AbortSignal) =>
    request<{ items: OutboxRow[]; page: { limit: number; next: number | null; total: number; totalCapped: boolean } }>('GET', `outbox?${new URLSearchParams(params)}`, undefined, signal),
  outboxStats: () => request<OutboxStats>('GET', 'outbox/stats'),
  outboxTables: () => request<{ tables: string[] }>('GET', 'outbox/tables'),
  outboxHistory: (table: string, id: string) => request<{ changes: HistoryEntry[]; truncated?: boolean }>('GET', `outbox/history/${encodeURIComponent(table)}/${encodeURIComponent(id)}`),
};

/** Rows per keyset page: a screenful or two; the next page comes as the list is scrolled. */
export const PAGE_ROWS = 100;

export interface PageQuery {
  /** Equality filters by field (`{ projectId, status: 'failed' }`); an undefined value filters nothing. */
  filter?: Record<string, string | undefined>;
  after: string | null;
  /** `field` ascending, `-field` descending; the API's default (newest first) when left out. */
  orderBy?: string;
  limit?: number;
  signal?: AbortSignal;
}

/** The query string of a keyset page. */
export function pageParams(q: PageQuery): URLSearchParams {
  const params = new URLSearchParams({ limit: String(q.limit ?? PAGE_ROWS) });
  if (q.orderBy) params.set('orderBy', q.orderBy);
  for (const [field, value] of Object.entries(q.filter ?? {})) if (value !== undefined) params.set(field, value);
  if (q.after !== null) params.set('after', q.after);
  return params;
}

export interface OutboxRow {
  id: string;
  seq: string | null;
  table_name: string;
  op: string;
  row_id: string;
  actor: string | null;
  committed_at: string | null;
  created_at: string;
}
