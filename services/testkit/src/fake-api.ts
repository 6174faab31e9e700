// A small HTTP API over node:http with the API's write contract: rows with versions,
// If-Match, Idempotency-Key replays, ETag and Realtime-Txid, an outbox of what it applied,
// and faults a test orders for the next requests (a connection dropped before or after
// the write, an answer that never comes, any status). It records every request with how
// many were in progress at once. The write queue's tests and the chaos queue clients'
// tests write through it.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChangeOp, PageInfo } from '@realtime/protocol';

export interface Recorded {
  method: string;
  path: string;
  key: string | undefined;
  ifMatch: string | undefined;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** Requests in progress when this one arrived, itself included. */
  active: number;
  at: number;
  /** What happened: applied, replayed, or the fault's name. */
  outcome?: string;
}

export type Fault =
  /** The connection closes before the request is looked at: nothing written. */
  | { kind: 'drop' }
  /** Written (and its answer kept for the key), then the connection closes: the answer is lost. */
  | { kind: 'lose' }
  /** Written, and no answer ever. */
  | { kind: 'hang' }
  /** This answer instead of the write. */
  | { kind: 'reply'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Written and answered, after a delay. */
  | { kind: 'slow'; ms: number }
  /** Written and answered without a Realtime-Txid (an API before the contract). */
  | { kind: 'no-txid' };

export interface FakeApiOptions {
  /**
   * Sign-in required: POST /api/auth/sign-in sets this cookie (`name=value`), and any
   * other request without it is answered 401.
   */
  session?: string;
  /** false: an API that ignores Idempotency-Key and applies every retry again. */
  idempotent?: boolean;
  /** Who the outbox says wrote a request's change. */
  actor?: string;
  /**
   * The REST convention it speaks: `api` (default) is `/api/<resource>[/<id>]` with errors
   * as `{ error: { code, message, current?, fields? } }`; `items` is another API's,
   * `/v2/<resource>/items[/<id>]` with errors as `{ problem, detail, latest?, duplicate? }`.
   */
  convention?: 'api' | 'items';
}

/** One applied write, as the outbox records it. */
export interface FakeChange {
  op: ChangeOp;
  resource: string;
  rowId: string;
  /** The row after the write (null for a delete). */
  row: Record<string, unknown> | null;
  actor: string;
  txid: string;
}

interface Stored {
  hash: string;
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export class FakeApi {
  readonly requests: Recorded[] = [];
  /** resource -> id -> row (with `version`). */
  readonly tables = new Map<string, Map<string, Record<string, unknown>>>();
  readonly idempotency = new Map<string, Stored>();
  /** Called as each request arrives, before anything is done with it. */
  onRequest: ((r: Recorded) => void) | null = null;
  /** The txid the next write gets. */
  nextTxid = 1000;
  /** Every applied write, in order: the outbox of the API's database. */
  readonly outbox: FakeChange[] = [];
  private readonly faults: Fault[] = [];
  private active = 0;
  private server: Server | null = null;
  url = '';

  constructor(private readonly opts: FakeApiOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => void this.handle(req.method ?? 'GET', req.url ?? '/', req.headers, raw, res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Faults for the next requests, one each, in order. */
  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  table(resource: string): Map<string, Record<string, unknown>> {
    let t = this.tables.get(resource);
    if (!t) this.tables.set(resource, (t = new Map()));
    return t;
  }

  seed(resource: string, row: Record<string, unknown> & { id: string }): void {
    this.table(resource).set(row.id, { version: 1, ...row });
  }

  /** The idempotency keys of the recorded requests, in order. */
  keys(): (string | undefined)[] {
    return this.requests.map((r) => r.key);
  }

  private async handle(method: string, path: string, headers: IncomingHttpHeaders, raw: string, res: ServerResponse): Promise<void> {
    this.active++;
    res.on('close', () => this.active--);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const header = (name: string) => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const r: Recorded = { method, path, key: header('idempotency-key'), ifMatch: header('if-match'), body, headers, active: this.active, at: Date.now() };
    this.requests.push(r);
    this.onRequest?.(r);
    const session = this.opts.session;
    if (session && method === 'POST' && path === '/api/auth/sign-in') {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `${session}; Path=/; HttpOnly` });
      res.end(JSON.stringify({ ok: true }));
      return;
    }
    if (session && header('cookie') !== session) {
      r.outcome = 'unauthorized';
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'sign in first' } }));
      return;
    }
    const fault = this.faults.shift();
    if (fault?.kind === 'drop') {
      r.outcome = 'drop';
      res.socket?.destroy();
      return;
    }
    if (fault?.kind === 'reply') {
      r.outcome = `reply ${fault.status}`;
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body === undefined ? '' : JSON.stringify(fault.body));
      return;
    }
    const answer = this.write(method, path, r.key, r.ifMatch, body);
    r.outcome = answer.replayed ? 'replayed' : answer.status < 300 ? 'applied' : `refused ${answer.status}`;
    if (fault?.kind === 'lose') {
      r.outcome += ', lost';
      res.socket?.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      r.outcome += ', hung';
      return;
    }
    if (fault?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    const out = { ...answer.headers };
    if (fault?.kind === 'no-txid') delete out['realtime-txid'];
    res.writeHead(answer.status, { 'content-type': 'application/json', ...out });
    res.end(answer.body === undefined ? '' : JSON.stringify(this.shaped(answer.status, answer.body)));
  }

  /** An error body in the server's convention. */
  private shaped(status: number, body: unknown): unknown {
    if ((this.opts.convention ?? 'api') === 'api' || status < 400) return body;
    const e = (body as { error: { code: string; message: string; current?: unknown; fields?: { id?: string } } }).error;
    return { problem: e.code, detail: e.message, ...(e.current ? { latest: e.current } : {}), ...(e.fields?.id === 'taken' ? { duplicate: true } : {}) };
  }

  /** The API's write, with the idempotency record kept for successful answers only. */
  private write(method: string, path: string, key: string | undefined, ifMatch: string | undefined, body: unknown): Stored & { replayed?: boolean } {
    const hash = JSON.stringify([method, path, body ?? null, ifMatch ?? null]);
    if (key && this.opts.idempotent !== false) {
      const stored = this.idempotency.get(key);
      if (stored && stored.hash !== hash) return { hash, status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'this key was used with another request' } }, headers: {} };
      if (stored) return { ...stored, headers: { ...stored.headers, 'idempotent-replayed': 'true' }, replayed: true };
    }
    const answer = this.apply(method, path, ifMatch, body);
    const stored = { hash, ...answer };
    if (key && answer.status < 300) this.idempotency.set(key, stored);
    return stored;
  }

  /**
   * A change made behind the API's back (a SQL writer, another app): `patch` merged into
   * the row with its version bumped, or null to delete it. Recorded in the outbox.
   */
  touch(resource: string, id: string, patch: Record<string, unknown> | null, actor: string): void {
    const table = this.table(resource);
    const row = table.get(id);
    if (!row) return;
    const txid = String(this.nextTxid++);
    if (patch === null) {
      table.delete(id);
      this.outbox.push({ op: 'DELETE', resource, rowId: id, row: null, actor, txid });
      return;
    }
    const next = { ...row, ...patch, id, version: (row.version as number) + 1 };
    table.set(id, next);
    this.outbox.push({ op: 'UPDATE', resource, rowId: id, row: next, actor, txid });
  }

  /**
   * A list in the API's shape, on one page: every row by key, no stream cursor (the fake
   * has no stream), the outbox's length as the head and every txid it gave out committed.
   */
  private list(table: Map<string, Record<string, unknown>>): { items: Record<string, unknown>[]; cursor: null; page: PageInfo } {
    const items = [...table.values()].sort((a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
    const snapshot = { head: this.outbox.length, xmin: String(this.nextTxid), xmax: String(this.nextTxid), xip: [] };
    return { items, cursor: null, page: { next: null, total: items.length, limit: Math.max(items.length, 1), order: { by: 'id', desc: false, key: 'id' }, snapshot } };
  }

  private apply(method: string, url: string, ifMatch: string | undefined, body: unknown): Omit<Stored, 'hash'> {
    const path = url.split('?')[0]!;
    const m = ((this.opts.convention ?? 'api') === 'api' ? /^\/api\/([a-z-]+)(?:\/([^/]+))?$/ : /^\/v2\/([a-z-]+)\/items(?:\/([^/]+))?$/).exec(path);
    if (!m) return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route ${method} ${path}` } }, headers: {} };
    const resource = m[1]!;
    const table = this.table(resource);
    const id = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (method === 'GET' && id === undefined) return { status: 200, body: this.list(table), headers: {} };
    const written = (status: number, row: Record<string, unknown> | undefined, op: FakeChange['op'], rowId: string) => {
      const txid = String(this.nextTxid++);
      this.outbox.push({ op, resource, rowId, row: row ?? null, actor: this.opts.actor ?? 'fake-api', txid });
      return { status, body: row, headers: { 'realtime-txid': txid, ...(row ? { etag: `"${row.version as number}"` } : {}) } };
    };
    if (method === 'POST' && id === undefined) {
      const row = body as Record<string, unknown>;
      if (typeof row?.id !== 'string') return { status: 400, body: { error: { code: 'BAD_REQUEST', message: 'id: required' } }, headers: {} };
      if (table.has(row.id)) return { status: 409, body: { error: { code: 'CONFLICT', message: `${m[1]} ${row.id} exists already`, fields: { id: 'taken' } } }, headers: {} };
      const created = { ...row, version: 1 };
      table.set(row.id, created);
      return written(201, created, 'INSERT', row.id);
    }
    if (method === 'GET') return readRow(table, id);
    const row = id === undefined ? undefined : table.get(id);
    if (!row || id === undefined) return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no ${m[1]} row ${id}` } }, headers: {} };
    if (ifMatch !== undefined && ifMatch.replace(/"/g, '') !== String(row.version)) {
      return { status: 409, body: { error: { code: 'CONFLICT', message: `${m[1]} ${id} is at version ${row.version as number}, not ${ifMatch}`, current: row } }, headers: { etag: `"${row.version as number}"` } };
    }
    if (method === 'PATCH') {
      const next = { ...row, ...(body as Record<string, unknown>), id, version: (row.version as number) + 1 };
      table.set(id, next);
      return written(200, next, 'UPDATE', id);
    }
    if (method === 'DELETE') {
      table.delete(id);
      return { ...written(204, undefined, 'DELETE', id), body: undefined };
    }
    return { status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', message: method } }, headers: {} };
  }
}

export async function startFakeApi(opts: FakeApiOptions = {}): Promise<FakeApi> {
  return new FakeApi(opts).start();
}

function readRow(table: Map<string, Record<string, unknown>>, id: string | undefined): Omit<Stored, 'hash'> {
  const row = id === undefined ? undefined : table.get(id);
  if (!row) return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no row ${id}` } }, headers: {} };
  return { status: 200, body: row, headers: { etag: `"${row.version as number}"` } };
}
