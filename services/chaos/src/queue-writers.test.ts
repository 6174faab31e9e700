import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '@realtime/runtime';
import { checkQueueWrites, type QueueOutboxRow } from './checker';
import { FaultyNetwork, QueueWriter, defaultNetFaults, noNetFaults, outcomeOf, uuidFrom, type NetFaults } from './queue-writers';
import { rng } from './rng';
import { sleep } from './stack';

describe('uuidFrom', () => {
  test('v4 layout, the same for the same seed, distinct within a run', () => {
    const a = Array.from({ length: 2000 }, ((r) => () => uuidFrom(r))(rng(5)));
    const b = Array.from({ length: 2000 }, ((r) => () => uuidFrom(r))(rng(5)));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
    for (const id of a) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

test('outcomeOf', () => {
  expect(['queued', 'sending', 'sent', 'confirmed', 'failed', 'conflict', 'dropped'].map((s) => outcomeOf(s as never))).toEqual(['pending', 'pending', 'succeeded', 'succeeded', 'refused', 'pending', 'dropped']);
});

describe('FaultyNetwork', () => {
  const gateways = ['http://g1', 'http://g2'];
  type Sent = { url: string; cookie: string | null; method: string | undefined };
  const fake = (sent: Sent[], answer: () => Promise<Response> = async () => new Response('{}', { status: 201 })) =>
    (async (url: string | URL | Request, init?: RequestInit) => {
      sent.push({ url: String(url), cookie: new Headers(init?.headers).get('cookie'), method: init?.method });
      return answer();
    }) as typeof fetch;
  const net = (faults: NetFaults, sent: Sent[], answer?: () => Promise<Response>, seed = 1) => {
    const n = new FaultyNetwork(rng(seed), gateways, () => 'rt_session=s', fake(sent, answer));
    n.faults = faults;
    return n;
  };

  test('a healthy request goes to a gateway with the cookie, path and method', async () => {
    const sent: Sent[] = [];
    const n = net(noNetFaults, sent);
    for (let i = 0; i < 20; i++) expect((await n.fetch('http://api.example/api/data-layers/x?y=1', { method: 'PATCH' })).status).toBe(201);
    expect(new Set(sent.map((s) => s.url))).toEqual(new Set(['http://g1/api/data-layers/x?y=1', 'http://g2/api/data-layers/x?y=1']));
    expect(sent.every((s) => s.cookie === 'rt_session=s' && s.method === 'PATCH')).toBe(true);
    expect(n.stats).toMatchObject({ requests: 20, failedBeforeSending: 0, lostResponses: 0, delayed: 0, offline: 0 });
  });

  test('fail: a network error, and the server never sees it', async () => {
    const sent: Sent[] = [];
    const n = net({ ...noNetFaults, fail: 1 }, sent);
    await expect(n.fetch('http://x/api/a', { method: 'POST' })).rejects.toThrow(TypeError);
    expect(sent).toHaveLength(0);
    expect(n.stats.failedBeforeSending).toBe(1);
  });

  test('lose: the server answered, the client gets a network error', async () => {
    const sent: Sent[] = [];
    const n = net({ ...noNetFaults, lose: 1 }, sent);
    await expect(n.fetch('http://x/api/a', { method: 'POST' })).rejects.toThrow(/answer/);
    expect(sent).toHaveLength(1);
    expect(n.stats.lostResponses).toBe(1);
  });

  test('delay: sent, later', async () => {
    const sent: Sent[] = [];
    const n = net({ ...noNetFaults, delay: 1, delayMs: [40, 40] }, sent);
    const t0 = Date.now();
    await n.fetch('http://x/api/a');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
    expect(sent).toHaveLength(1);
    expect(n.stats.delayed).toBe(1);
  });

  test('offline: everything fails unsent until it ends', async () => {
    const sent: Sent[] = [];
    const n = net(noNetFaults, sent);
    n.offlineFor(60_000);
    await expect(n.fetch('http://x/api/a')).rejects.toThrow(/offline/);
    expect(sent).toHaveLength(0);
    n.offlineFor(0);
    await n.fetch('http://x/api/a');
    expect(sent).toHaveLength(1);
    expect(n.stats.offline).toBe(1);
  });

  test('a disconnect while the request is out loses its answer', async () => {
    const sent: Sent[] = [];
    let n: FaultyNetwork;
    const answer = async () => {
      n.offlineFor(10);
      return new Response(null, { status: 204 });
    };
    n = net(noNetFaults, sent, answer);
    await expect(n.fetch('http://x/api/a', { method: 'DELETE' })).rejects.toThrow(/went away/);
    expect(sent).toHaveLength(1);
    expect(n.stats.lostResponses).toBe(1);
  });

  test('pause holds new requests back and waits for those on the wire, even ones the client gave up on', async () => {
    const sent: Sent[] = [];
    let finish = () => undefined as void;
    const answer = () => new Promise<Response>((resolve) => (finish = () => resolve(new Response('{}', { status: 200 }))));
    const n = net(noNetFaults, sent, answer);
    const ac = new AbortController();
    const first = n.fetch('http://x/api/a', { signal: ac.signal });
    await sleep(5);
    ac.abort(new Error('given up'));
    await expect(first).rejects.toThrow('given up');
    let paused = false;
    const pausing = n.pause().then(() => (paused = true));
    await sleep(20);
    // The abandoned request may still be applied: the pause is not done until it ends.
    expect(paused).toBe(false);
    finish();
    await pausing;
    const second = n.fetch('http://x/api/b');
    await sleep(20);
    expect(sent).toHaveLength(1);
    n.resume();
    await sleep(20);
    finish();
    await second;
    expect(sent.map((s) => s.url)).toEqual([expect.stringMatching(/\/api\/a$/), expect.stringMatching(/\/api\/b$/)]);
  });

  test('a request held back by a pause gives up when its signal aborts', async () => {
    const n = net(noNetFaults, []);
    await n.pause();
    await expect(n.fetch('http://x/api/a', { signal: AbortSignal.timeout(20) })).rejects.toThrow();
    n.resume();
  });

  test('the same seed makes the same choices', async () => {
    const run = async () => {
      const sent: Sent[] = [];
      const n = net({ ...defaultNetFaults, delayMs: [0, 1] }, sent, undefined, 77);
      const outcomes: string[] = [];
      for (let i = 0; i < 200; i++) outcomes.push(await n.fetch('http://x/api/a').then(() => 'ok', (e: Error) => e.message));
      return { outcomes, urls: sent.map((s) => s.url) };
    };
    const a = await run();
    expect(await run()).toEqual(a);
    expect(new Set(a.outcomes).size).toBe(3);
  });
});

/**
 * The API's write contract in miniature, over HTTP: rows with versions, If-Match,
 * Idempotency-Key replays, ETag and Realtime-Txid, and an outbox of what was applied.
 * A meddler stands for the SQL writers: it changes and deletes the rows.
 */
class FakeApi {
  constructor(private readonly idempotent = true) {}

  readonly rows = new Map<string, Record<string, unknown> & { id: string; version: number }>();
  readonly outbox: QueueOutboxRow[] = [];
  private readonly keys = new Map<string, { hash: string; status: number; body: unknown; etag: string | null; txid: string }>();
  private txid = 1000;
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => this.handle(req, raw, res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  meddle(r: ReturnType<typeof rng>): void {
    const ids = [...this.rows.keys()];
    if (!ids.length) return;
    const id = r.pick(ids);
    const row = this.rows.get(id)!;
    const txid = String(this.txid++);
    if (r.chance(0.3)) {
      this.rows.delete(id);
      this.outbox.push({ op: 'DELETE', rowId: id, name: null, actor: 'chaos-writer-1', txid });
    } else {
      row.version++;
      row.visible = !row.visible;
      this.outbox.push({ op: 'UPDATE', rowId: id, name: String(row.name), actor: 'chaos-writer-1', txid });
    }
  }

  private handle(req: IncomingMessage, raw: string, res: ServerResponse): void {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === null ? undefined : JSON.stringify(body));
    };
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/api/auth/sign-in') return send(200, { ok: true }, { 'set-cookie': 'rt_session=tok; Path=/; HttpOnly' });
    if (req.headers.cookie !== 'rt_session=tok') return send(401, { error: { code: 'UNAUTHORIZED', message: 'sign in' } });
    if (req.method === 'GET') return send(200, { items: [...this.rows.values()] });
    const key = req.headers['idempotency-key'] as string | undefined;
    const ifMatch = req.headers['if-match'] ? Number(String(req.headers['if-match']).replace(/"/g, '')) : null;
    const hash = JSON.stringify([req.method, url.pathname, raw, ifMatch]);
    const stored = key && this.idempotent ? this.keys.get(key) : undefined;
    if (stored) {
      if (stored.hash !== hash) return send(422, { error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'reused' } });
      return send(stored.status, stored.body, { 'realtime-txid': stored.txid, ...(stored.etag ? { etag: stored.etag } : {}), 'idempotent-replayed': 'true' });
    }
    const id = url.pathname.split('/')[3];
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const txid = String(this.txid++);
    let status: number;
    let out: unknown = null;
    if (req.method === 'POST') {
      const rowId = String(body.id);
      if (this.rows.has(rowId)) return send(409, { error: { code: 'CONFLICT', message: 'taken' } });
      const row = { ...body, id: rowId, version: 1 };
      this.rows.set(rowId, row);
      this.outbox.push({ op: 'INSERT', rowId, name: String(body.name), actor: 'a@chaos.test', txid });
      status = 201;
      out = row;
    } else {
      const row = this.rows.get(id!);
      if (!row) return send(404, { error: { code: 'NOT_FOUND', message: 'no such row' } });
      if (ifMatch !== null && row.version !== ifMatch) return send(409, { error: { code: 'CONFLICT', message: 'stale', current: { ...row } } }, { etag: `"${row.version}"` });
      if (req.method === 'PATCH') {
        Object.assign(row, body, { version: row.version + 1 });
        this.outbox.push({ op: 'UPDATE', rowId: row.id, name: String(row.name), actor: 'a@chaos.test', txid });
        status = 200;
        out = { ...row };
      } else {
        this.rows.delete(row.id);
        this.outbox.push({ op: 'DELETE', rowId: row.id, name: null, actor: 'a@chaos.test', txid });
        status = 204;
      }
    }
    const etag = out ? `"${(out as { version: number }).version}"` : null;
    if (key) this.keys.set(key, { hash, status, body: out, etag, txid });
    send(status, out, { 'realtime-txid': txid, ...(etag ? { etag } : {}) });
  }
}

describe('QueueWriter against a small API', () => {
  let api: FakeApi | null = null;
  let writer: QueueWriter | null = null;
  afterEach(async () => {
    await writer?.close();
    await api?.stop();
  });

  /** A client writing for `ms` through every fault, fast, while a meddler changes and deletes its rows; then drained and checked. */
  async function run(a: FakeApi, ms: number, lose = 0.15) {
    await a.start();
    const w = new QueueWriter({ index: 1, email: 'a@chaos.test', password: 'pw', gateways: [a.url], pinned: ['p1', 'p2'] }, rng(11), createLogger('silent'), () => undefined, {
      tickMs: [2, 10],
      onlineMs: [150, 300],
      offlineMs: [20, 80],
      reloadEveryMs: [100, 250],
      readEveryMs: [50, 150],
    });
    writer = w;
    w.net.faults = { ...defaultNetFaults, fail: 0.1, lose, delayMs: [5, 30] };
    await w.start();
    const meddler = rng(12);
    const meddling = setInterval(() => a.meddle(meddler), 40);
    await sleep(ms);
    await w.stop();
    clearInterval(meddling);
    const drained = await w.drain(Date.now() + 20_000);
    const intended = w.intended();
    return { drained, intended, f: checkQueueWrites(intended, a.outbox, [w.actor]), w };
  }

  test('through lost answers, failures, disconnects, reloads and conflicts, every write is applied as often as its queue says', async () => {
    api = new FakeApi();
    const { drained, intended, f, w } = await run(api, 2500);
    expect(drained).toBe(true);
    expect(f.problems).toEqual([]);
    expect(f.appliedOnce).toBeGreaterThan(30);
    expect(f.appliedOnce + f.refused).toBe(intended.length);
    expect(Object.values(f.byKind).every((n) => n > 0)).toBe(true);
    // The faults did happen.
    expect(w.net.stats.lostResponses).toBeGreaterThan(0);
    expect(w.net.stats.failedBeforeSending).toBeGreaterThan(0);
    expect(w.stats.restarts).toBeGreaterThan(0);
    expect(w.stats.disconnects).toBeGreaterThan(0);
    expect(w.stats.conflicts).toBeGreaterThan(0);
    expect(f.refusals['404']).toBeGreaterThan(0);
  }, 40_000);

  test('an API that ignores the Idempotency-Key is caught applying writes twice', async () => {
    api = new FakeApi(false);
    // Half the answers lost: every run has retries of writes the server already applied.
    const { f, w } = await run(api, 2500, 0.5);
    expect(w.net.stats.lostResponses).toBeGreaterThan(5);
    expect(f.twice + f.refusedApplied).toBeGreaterThan(0);
    expect(f.problems.length).toBeGreaterThan(0);
  }, 40_000);
});
