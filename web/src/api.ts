// The HTTP API, typed: lists with their stream cursor, and writes that name the actor.
import type { HistoryEntry, OutboxStats } from '@realtime/protocol';
import type { Row } from './realtime/reducer';

export interface ListData<T extends Row = Row> {
  items: T[];
  cursor: string;
  page: { limit: number; offset: number; nextOffset: number | null };
  /** The highest stream seq applied on top of the fetched list (set by the live hooks). */
  seq?: number;
}

export type Resource = 'projects' | 'extraction-jobs' | 'extraction-results' | 'data-layers' | 'supplier-matches';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

const actor = () => localStorage.getItem('actor') ?? 'web user';

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/api/${path}`, {
    method,
    headers: { 'x-actor': actor(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => ({}))) as { error?: { message: string; fields?: Record<string, string> } };
  if (!res.ok) throw new ApiError(res.status, json.error?.message ?? `${method} /api/${path} failed (${res.status})`, json.error?.fields);
  return json as T;
}

export const api = {
  list: <T extends Row>(resource: Resource, params: Record<string, string> = {}) =>
    request<ListData<T>>('GET', `${resource}?${new URLSearchParams({ limit: '200', ...params })}`),
  get: <T extends Row>(resource: Resource, id: string) => request<T>('GET', `${resource}/${id}`),
  create: <T extends Row>(resource: Resource, body: Record<string, unknown>) => request<T>('POST', resource, body),
  update: <T extends Row>(resource: Resource, id: string, body: Record<string, unknown>) => request<T>('PATCH', `${resource}/${id}`, body),
  remove: (resource: Resource, id: string) => request<void>('DELETE', `${resource}/${id}`),
  token: () => request<{ token: string; expiresAt: string }>('GET', 'realtime/token'),
  outbox: (params: Record<string, string>) => request<{ items: OutboxRow[] }>('GET', `outbox?${new URLSearchParams(params)}`),
  outboxStats: () => request<OutboxStats>('GET', 'outbox/stats'),
  outboxHistory: (table: string, id: string) => request<{ changes: HistoryEntry[] }>('GET', `outbox/history/${encodeURIComponent(table)}/${encodeURIComponent(id)}`),
};

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
