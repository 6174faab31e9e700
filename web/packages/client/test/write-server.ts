// A small HTTP API over node:http for the write queue's tests: rows with versions,
// If-Match, Idempotency-Key replays, ETag and Realtime-Txid, as the API's write contract
// has them, and faults the test orders for the next requests (a connection dropped before
// or after the write, an answer that never comes, any status). It records every request
// with how many were in progress at once. It speaks this project's REST convention, or
// another one (`items`: `/v2/<resource>/items[/<id>]`, errors as `{ problem, detail,
// latest?, duplicate? }`) for the queue's `rest` option.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  /** Written and answered without a Realtime-Txid (a row no stream follows, or an API of another convention). */
  | { kind: 'no-txid' };

interface Stored {
  hash: string;
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** `api`: `/api/<resource>[/<id>]`, errors as `{ error: { code, message, current?, fields? } }`. */
export type Convention = 'api' | 'items';

export class WriteServer {
  readonly requests: Recorded[] = [];
  /** resource -> id -> row (with `version`). */
  readonly tables = new Map<string, Map<string, Record<string, unknown>>>();
  readonly idempotency = new Map<string, Stored>();
  /** Called as each request arrives, before anything is done with it. */
  onRequest: ((r: Recorded) => void) | null = null;
  /** The txid the next write gets. */
  nextTxid = 1000;
  private readonly faults: Fault[] = [];
  private active = 0;
  private server: Server | null = null;
  url = '';

  constructor(readonly convention: Convention = 'api') {}

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
    if (this.convention === 'api' || status < 400) return body;
    const e = (body as { error: { code: string; message: string; current?: unknown; fields?: { id?: string } } }).error;
    return { problem: e.code, detail: e.message, ...(e.current ? { latest: e.current } : {}), ...(e.fields?.id === 'taken' ? { duplicate: true } : {}) };
  }

  /** The API's write, with the idempotency record kept for successful answers only. */
  private write(method: string, path: string, key: string | undefined, ifMatch: string | undefined, body: unknown): Stored & { replayed?: boolean } {
    const hash = JSON.stringify([method, path, body ?? null, ifMatch ?? null]);
    if (key) {
      const stored = this.idempotency.get(key);
      if (stored && stored.hash !== hash) return { hash, status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'this key was used with another request' } }, headers: {} };
      if (stored) return { ...stored, headers: { ...stored.headers, 'idempotent-replayed': 'true' }, replayed: true };
    }
    const answer = this.apply(method, path, ifMatch, body);
    const stored = { hash, ...answer };
    if (key && answer.status < 300) this.idempotency.set(key, stored);
    return stored;
  }

  private apply(method: string, path: string, ifMatch: string | undefined, body: unknown): Omit<Stored, 'hash'> {
    const m = (this.convention === 'api' ? /^\/api\/([a-z-]+)(?:\/([^/]+))?$/ : /^\/v2\/([a-z-]+)\/items(?:\/([^/]+))?$/).exec(path);
    if (!m) return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route ${method} ${path}` } }, headers: {} };
    const table = this.table(m[1]!);
    const id = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const written = (status: number, row: Record<string, unknown> | undefined) => {
      const txid = String(this.nextTxid++);
      return { status, body: row, headers: { 'realtime-txid': txid, ...(row ? { etag: `"${row.version as number}"` } : {}) } };
    };
    if (method === 'POST' && id === undefined) {
      const row = body as Record<string, unknown>;
      if (typeof row?.id !== 'string') return { status: 400, body: { error: { code: 'BAD_REQUEST', message: 'id: required' } }, headers: {} };
      if (table.has(row.id)) return { status: 409, body: { error: { code: 'CONFLICT', message: `${m[1]} ${row.id} exists already`, fields: { id: 'taken' } } }, headers: {} };
      const created = { ...row, version: 1 };
      table.set(row.id, created);
      return written(201, created);
    }
    const row = id === undefined ? undefined : table.get(id);
    if (!row || id === undefined) return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no ${m[1]} row ${id}` } }, headers: {} };
    if (ifMatch !== undefined && ifMatch.replace(/"/g, '') !== String(row.version)) {
      return { status: 409, body: { error: { code: 'CONFLICT', message: `${m[1]} ${id} is at version ${row.version as number}, not ${ifMatch}`, current: row } }, headers: { etag: `"${row.version as number}"` } };
    }
    if (method === 'PATCH') {
      const next = { ...row, ...(body as Record<string, unknown>), id, version: (row.version as number) + 1 };
      table.set(id, next);
      return written(200, next);
    }
    if (method === 'DELETE') {
      table.delete(id);
      return { ...written(204, undefined), body: undefined };
    }
    return { status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', message: method } }, headers: {} };
  }
}

export async function startWriteServer(convention: Convention = 'api'): Promise<WriteServer> {
  return new WriteServer(convention).start();
}
