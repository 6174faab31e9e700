// The REST convention the write queue speaks: where a write of a resource goes, and how a
// refusal is read. The default is this project's API (`/api/<resource>[/<id>]`, errors as
// `{ error: { code, message, current?, fields? } }`); an app whose API differs passes its
// own to createWriteQueue({ rest }). The methods, headers and statuses stay the queue's
// contract (see policy.ts): POST/PATCH/DELETE, Idempotency-Key, If-Match, ETag, Realtime-Txid.
import type { ApiRow } from '@realtime/protocol';
import { isRecord, type WriteEntry } from './entry.js';

/** What a refused write's answer says, as the queue needs it. */
export interface RestRefusal {
  /** The server's code (BAD_REQUEST, FORBIDDEN, CONFLICT...). */
  code?: string;
  /** Shown to the user; absent: the method, URL and status are. */
  message?: string;
  /** A 409's row as the server has it now: the write is in `conflict` with it (without it, a 409 fails). */
  current?: ApiRow;
  /** A 409 that says a create's row id is taken (the queue may then know the row is its own). */
  idTaken?: boolean;
}

export interface RestConvention {
  /** A write's URL, joined to `baseUrl`: the collection's (a create) without `id`, the row's with it. */
  url(resource: string, id?: string): string;
  /** Reads a refused write's answer (status 4xx or 5xx; `body` parsed JSON, or undefined). */
  readError(status: number, body: unknown): RestRefusal;
}

/** This project's API: `/api/<resource>` and `/api/<resource>/<id>`, errors as `{ error: { code, message, current?, fields? } }`. */
export const defaultRest: RestConvention = {
  url: (resource, id) => `/api/${resource}${id === undefined ? '' : `/${encodeURIComponent(id)}`}`,
  readError: (status, body) => {
    const e = isRecord(body) && isRecord(body.error) ? body.error : {};
    const out: RestRefusal = {};
    if (typeof e.code === 'string') out.code = e.code;
    if (typeof e.message === 'string') out.message = e.message;
    if (status === 409 && isRecord(e.current)) out.current = e.current;
    if (isRecord(e.fields) && e.fields.id === 'taken') out.idTaken = true;
    return out;
  },
};

/** The default, with what an app gives in its place. */
export function restConvention(given: Partial<RestConvention> | undefined): RestConvention {
  return { url: given?.url ?? defaultRest.url, readError: given?.readError ?? defaultRest.readError };
}

export interface WriteRequest {
  method: 'POST' | 'PATCH' | 'DELETE';
  url: string;
  init: RequestInit;
}

/** The request of a write: its method, URL, headers (Idempotency-Key, If-Match) and JSON body. */
export function writeRequest(e: WriteEntry, rest: RestConvention, baseUrl: string): WriteRequest {
  const method = e.kind === 'create' ? 'POST' : e.kind === 'update' ? 'PATCH' : 'DELETE';
  const headers: Record<string, string> = { accept: 'application/json', 'idempotency-key': e.id };
  if (e.kind !== 'create' && e.baseVersion !== undefined) headers['if-match'] = `"${e.baseVersion}"`;
  let body: string | undefined;
  if (e.kind !== 'delete') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(e.body ?? {});
  }
  const url = `${baseUrl}${rest.url(e.resource, e.kind === 'create' ? undefined : e.rowId)}`;
  return { method, url, init: { method, headers, body, credentials: 'include' } };
}
