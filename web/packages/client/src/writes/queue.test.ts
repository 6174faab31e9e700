// The write queue against a real HTTP server (node:http, test/write-server.ts) that keeps
// rows with versions and idempotency records the way the API's contract has them, and
// fails on order: connections dropped before or after the write, answers that never come,
// 5xx with Retry-After, 401, 409 with the current row, 4xx. Where a test says how long the
// queue waits, or that nothing happens meanwhile, the queue runs on a clock the test moves
// (ManualClock); elsewhere retries run on real timers with short delays, and tests wait
// for states, never for durations.
import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { ApiRow } from '@realtime/protocol';
import { startWriteServer, type WriteServer } from '../../test/write-server.js';
import { ManualClock } from '../testing/clock.js';
import { createWriteQueue, randomUuid, type WriteEntry, type WriteEvent, type WriteQueue, type WriteQueueOptions, type WriteState } from './queue.js';
import type { RestConvention } from './rest.js';
import { memoryStorage, type QueueStorage } from './storage.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const poll = () => new Promise((resolve) => setTimeout(resolve, 5));
/** Lets every callback already due run (promise chains, a store's saves): whatever the queue would start now, it has. */
const settle = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Waits for a state; the limit only turns a hang into a failure that names what never came. */
async function waitFor(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await poll();
  }
}

let server: WriteServer;
let open: WriteQueue[] = [];

beforeEach(async () => {
  server = await startWriteServer();
});
afterEach(async () => {
  for (const q of open) await q.close();
  open = [];
  await server.stop();
});

function makeQueue(opts: Partial<WriteQueueOptions> = {}): { q: WriteQueue; events: WriteEvent[]; storage: QueueStorage; fetches: () => number } {
  const events: WriteEvent[] = [];
  const storage = opts.storage ?? memoryStorage();
  let fetches = 0;
  const inner = opts.fetch ?? fetch;
  const q = createWriteQueue({
    baseUrl: server.url,
    backoff: { baseMs: 20, maxMs: 200, jitter: 0 },
    requestTimeoutMs: 10_000,
    ...opts,
    // Counted as the queue calls it, before anything reaches the server.
    fetch: (url, init) => (fetches++, inner(url, init)),
    storage,
    onEvent: (e) => events.push(e),
  });
  open.push(q);
  return { q, events, storage, fetches: () => fetches };
}

/** A queue on a clock the test moves. */
function onClock(opts: Partial<WriteQueueOptions> = {}) {
  const clock = new ManualClock();
  return { clock, ...makeQueue({ ...opts, now: clock.now, timers: clock.timers }) };
}

const retries = (events: WriteEvent[]) => events.flatMap((e) => (e.type === 'retrying' ? [e] : []));

const find = (q: WriteQueue, e: WriteEntry): WriteEntry | undefined => q.entries().find((x) => x.id === e.id);
const stateOf = (q: WriteQueue, e: WriteEntry): WriteState | undefined => find(q, e)?.state;
const until = (q: WriteQueue, e: WriteEntry, state: WriteState, ms?: number) => waitFor(`${e.kind} ${e.rowId} ${state} (is ${stateOf(q, e)})`, () => stateOf(q, e) === state, ms);
const requestLine = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

describe('order', () => {
  test('three writes reach the server in order, one at a time, each with its key; later writes of a created row are based on its version', async () => {
    const inits: RequestInit[] = [];
    const { q } = makeQueue({ fetch: (url, init) => (inits.push(init!), fetch(url, init)) });
    server.fail({ kind: 'slow', ms: 40 }, { kind: 'slow', ms: 40 }, { kind: 'slow', ms: 40 });
    const a = q.create('projects', { name: 'A' });
    const b = q.update('projects', a.rowId, { name: 'B' });
    const c = q.remove('projects', a.rowId);
    expect(a.rowId).toMatch(UUID);
    expect(a.id).toMatch(UUID);
    expect(a.id).not.toBe(a.rowId);
    expect(q.pending().map((e) => e.state)).toEqual(['queued', 'queued', 'queued']);
    await until(q, c, 'sent');

    expect(server.requests.map(requestLine)).toEqual(['POST /api/projects', `PATCH /api/projects/${a.rowId}`, `DELETE /api/projects/${a.rowId}`]);
    expect(server.keys()).toEqual([a.id, b.id, c.id]);
    expect(server.requests.map((r) => r.active)).toEqual([1, 1, 1]);
    expect(server.requests[0]!.body).toEqual({ name: 'A', id: a.rowId });
    expect(server.requests[1]!.body).toEqual({ name: 'B' });
    expect(server.requests[2]!.body).toBeUndefined();
    // Made with no version: the create's answer (1), then the update's (2), guard them.
    expect(server.requests.map((r) => r.ifMatch)).toEqual([undefined, '"1"', '"2"']);
    expect(server.requests.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(server.table('projects').size).toBe(0);
    expect(inits.map((i) => i.credentials)).toEqual(['include', 'include', 'include']);
    expect(server.requests[0]!.headers['content-type']).toBe('application/json');
    expect(find(q, a)).toMatchObject({ state: 'sent', version: 1, txid: '1000', result: { id: a.rowId, name: 'A', version: 1 } });
    expect(find(q, b)).toMatchObject({ state: 'sent', version: 2, txid: '1001', baseVersion: 1 });
    expect(find(q, c)).toMatchObject({ state: 'sent', txid: '1002', baseVersion: 2 });
  });

  test('a create keeps the id it was given; bad arguments are refused at once', async () => {
    const { q } = makeQueue();
    const a = q.create('data-layers', { id: 'f6b8a8a2-0d0c-4e51-9b7e-3c1f0f0a0b01', name: 'x' });
    expect(a.rowId).toBe('f6b8a8a2-0d0c-4e51-9b7e-3c1f0f0a0b01');
    await until(q, a, 'sent');
    expect(server.requests[0]!.body).toEqual({ id: a.rowId, name: 'x' });
    expect(() => q.update('projects', 'x', {}, 1.5)).toThrow(/baseVersion/);
    expect(() => q.remove('projects', 'x', -1)).toThrow(/baseVersion/);
    expect(() => q.create('../admin', {})).toThrow(/resource/);
  });
});

describe('persistence', () => {
  test('a write is in the store before it is on the wire; saves never overlap and the last state wins', async () => {
    let committed: WriteEntry[] = [];
    let saving = 0;
    let overlapped = false;
    // A slow store (its save takes a few turns of the event loop): a request sent before its save finished would find the old contents.
    const storage: QueueStorage = {
      load: async () => [],
      save: async (entries) => {
        if (++saving > 1) overlapped = true;
        const copy = JSON.parse(JSON.stringify(entries)) as WriteEntry[];
        await settle();
        committed = copy;
        saving--;
      },
    };
    const { q } = makeQueue({ storage });
    const atArrival: WriteEntry[][] = [];
    server.onRequest = () => atArrival.push(committed);
    const a = q.create('projects', { name: 'A' });
    const b = q.update('projects', a.rowId, { name: 'B' });
    await until(q, b, 'sent');
    expect(atArrival).toHaveLength(2);
    expect(atArrival[0]!.map((e) => [e.id, e.state])).toEqual([
      [a.id, 'sending'],
      [b.id, 'queued'],
    ]);
    expect(atArrival[1]!.map((e) => [e.id, e.state])).toEqual([
      [a.id, 'sent'],
      [b.id, 'sending'],
    ]);
    await q.flush();
    expect(overlapped).toBe(false);
    expect(committed).toEqual(JSON.parse(JSON.stringify(q.entries())));
  });

  test('a queue over the store a closed one left sends its in-flight write again with the same key: applied once', async () => {
    const storage = memoryStorage();
    const first = makeQueue({ storage });
    server.fail({ kind: 'hang' });
    const a = first.q.create('projects', { name: 'A' });
    const b = first.q.update('projects', a.rowId, { name: 'B' });
    await waitFor('the first request', () => server.requests.length === 1);
    await first.q.close(); // the tab is closed while the answer is on its way
    expect(storage.saved.map((e) => [e.id, e.state])).toEqual([
      [a.id, 'sending'],
      [b.id, 'queued'],
    ]);

    const second = makeQueue({ storage });
    await second.q.ready;
    await until(second.q, b, 'sent');
    expect(server.keys()).toEqual([a.id, a.id, b.id]);
    expect(server.requests.map((r) => r.outcome)).toEqual(['applied, hung', 'replayed', 'applied']);
    expect(server.table('projects').get(a.rowId)).toMatchObject({ name: 'B', version: 2 });
    // The replay is the first answer: its txid, its version.
    expect(find(second.q, a)).toMatchObject({ state: 'sent', txid: '1000', version: 1, attempts: 0 });
    expect(server.requests[2]!.ifMatch).toBe('"1"');
    expect(storage.saved.map((e) => e.state)).toEqual(['sent', 'sent']);
  });

  test('loading: sending and queued entries go at once (a waiting retry too), sent ones wait for the stream, unknown shapes are dropped', async () => {
    const now = Date.now();
    const stored = [
      { id: 'k-sending', kind: 'create', resource: 'projects', rowId: 'r1', body: { id: 'r1', name: 'one' }, state: 'sending', attempts: 0, createdAt: now },
      { id: 'k-waiting', kind: 'update', resource: 'projects', rowId: 'r1', body: { name: 'two' }, baseVersion: 1, state: 'queued', attempts: 3, nextAttemptAt: now + 3_600_000, createdAt: now },
      { id: 'k-sent', kind: 'create', resource: 'projects', rowId: 'r0', state: 'sent', txid: '77', respondedAt: now - 10, attempts: 0, createdAt: now },
      { id: 'k-odd', kind: 'upsert', resource: 'projects', rowId: 'r9', state: 'queued', attempts: 0, createdAt: now },
      null,
    ] as unknown as WriteEntry[];
    let online = false;
    const { q } = makeQueue({ storage: memoryStorage(stored), online: () => online });
    await q.ready;
    expect(q.entries().map((e) => [e.id, e.state])).toEqual([
      ['k-sending', 'queued'],
      ['k-waiting', 'queued'],
      ['k-sent', 'sent'],
    ]);
    expect(q.entries()[1]!.nextAttemptAt).toBeUndefined();
    online = true;
    q.kick();
    await waitFor('both sent', () => q.entries().every((e) => e.state === 'sent'));
    expect(server.keys()).toEqual(['k-sending', 'k-waiting']);
    expect(server.requests[1]!.ifMatch).toBe('"1"');
    q.confirmTxids(['77']);
    expect(q.entries().find((e) => e.id === 'k-sent')?.state).toBe('confirmed');
  });

  test('writes made before the store has loaded go after the stored ones, and the store keeps both', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = memoryStorage([{ id: 'k-old', kind: 'create', resource: 'projects', rowId: 'r-old', body: { id: 'r-old' }, state: 'queued', attempts: 0, createdAt: 1 }]);
    const storage: QueueStorage = { load: () => gate.then(() => inner.load()), save: (e) => inner.save(e) };
    const { q, fetches } = makeQueue({ storage });
    const fresh = q.create('projects', { name: 'new' });
    await settle();
    expect(fetches()).toBe(0);
    expect(inner.saves).toBe(0); // a save now would have wiped the stored entry
    release();
    await until(q, fresh, 'sent');
    expect(server.keys()).toEqual(['k-old', fresh.id]);
    await q.flush();
    expect(inner.saved.map((e) => e.id)).toEqual(['k-old', fresh.id]);
  });

  test('a store that cannot load: reported, the writes go out from memory, and what it holds is not overwritten', async () => {
    let saves = 0;
    const { q, events } = makeQueue({
      storage: {
        load: () => Promise.reject(new Error('IndexedDB is unavailable')),
        save: async () => void saves++,
      },
    });
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'sent');
    expect(events[0]).toMatchObject({ type: 'storage-error', op: 'load', error: { message: 'IndexedDB is unavailable' } });
    await q.flush();
    expect(saves).toBe(0);
  });

  test('a save that fails is reported and the write still goes out', async () => {
    const { q, events } = makeQueue({
      storage: {
        load: async () => [],
        save: () => {
          throw new Error('quota exceeded');
        },
      },
    });
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'sent');
    expect(events.filter((e) => e.type === 'storage-error').length).toBeGreaterThan(0);
    expect(events.find((e) => e.type === 'storage-error')).toMatchObject({ op: 'save', error: { message: 'quota exceeded' } });
  });
});

describe('retries', () => {
  test('a lost answer: sent again with the same key, applied once', async () => {
    const { q, events } = makeQueue();
    server.fail({ kind: 'lose' });
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'sent');
    expect(server.keys()).toEqual([a.id, a.id]);
    expect(server.requests.map((r) => r.outcome)).toEqual(['applied, lost', 'replayed']);
    expect(server.table('projects').size).toBe(1);
    expect(find(q, a)).toMatchObject({ attempts: 1, txid: '1000', version: 1 });
    const retrying = events.filter((e) => e.type === 'retrying');
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toMatchObject({ delayMs: 20, error: { message: expect.stringContaining('POST') } });
    expect((retrying[0] as { error: { status?: number } }).error.status).toBeUndefined();
  });

  test('a lost answer retried after the server forgot the key: the id it made up is taken, so the create was its own, applied once', async () => {
    const { q, events } = makeQueue();
    server.fail({ kind: 'lose' });
    // The key expires (IDEMPOTENCY_TTL_HOURS) before the retry.
    q.on((e) => e.type === 'retrying' && server.idempotency.clear());
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'confirmed');
    expect(server.requests.map((r) => r.outcome)).toEqual(['applied, lost', expect.stringMatching(/409/)]);
    expect(server.table('projects').size).toBe(1);
    expect(events.some((e) => e.type === 'failed')).toBe(false);
  });

  test('a create with an id the caller chose, answered "id taken": refused (the row may be anyone\'s)', async () => {
    const { q } = makeQueue();
    server.seed('projects', { id: 'chosen', name: 'theirs' });
    const a = q.create('projects', { id: 'chosen', name: 'mine' });
    await until(q, a, 'failed');
    expect(find(q, a)?.error).toMatchObject({ status: 409, code: 'CONFLICT' });
  });

  test('an answer that never comes: given up after requestTimeoutMs and sent again with the same key', async () => {
    const { q, events, clock } = onClock({ requestTimeoutMs: 150 });
    server.seed('projects', { id: 'r1', name: 'old' });
    server.fail({ kind: 'hang' });
    const a = q.update('projects', 'r1', { name: 'x' });
    await waitFor('the request to hang', () => server.requests[0]?.outcome === 'applied, hung');
    expect(clock.pending).toEqual([150]);
    clock.advance(149);
    await settle();
    expect(stateOf(q, a)).toBe('sending');
    clock.advance(1);
    await waitFor('the retry', () => retries(events).length === 1);
    expect(retries(events)[0]).toMatchObject({ delayMs: 20, error: { message: expect.stringContaining('no answer within 150 ms') } });
    await waitFor('the wait', () => clock.pending.includes(20));
    clock.advance(20);
    await until(q, a, 'sent');
    expect(server.keys()).toEqual([a.id, a.id]);
    expect(server.requests.map((r) => r.outcome)).toEqual(['applied, hung', 'replayed']);
    expect(server.table('projects').get('r1')).toMatchObject({ name: 'x', version: 2 });
  });

  test.each([
    ['a connection dropped before the write', { kind: 'drop' } as const],
    ['408', { kind: 'reply', status: 408 } as const],
    ['429', { kind: 'reply', status: 429 } as const],
    ['500', { kind: 'reply', status: 500, body: { error: { code: 'INTERNAL', message: 'boom' } } } as const],
    ['502', { kind: 'reply', status: 502 } as const],
    ['503', { kind: 'reply', status: 503 } as const],
  ])('%s: retried with the same key', async (_name, fault) => {
    const { q } = makeQueue();
    server.fail(fault);
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'sent');
    expect(server.keys()).toEqual([a.id, a.id]);
    expect(server.requests[1]!.outcome).toBe('applied');
    expect(find(q, a)).toMatchObject({ attempts: 1 });
    expect(find(q, a)?.error).toBeUndefined();
  });

  test.each([400, 403, 404, 410, 422])('%i: failed with the server’s code and message, and the queue goes on', async (status) => {
    const { q, events } = makeQueue();
    server.fail({ kind: 'reply', status, body: { error: { code: `CODE_${status}`, message: `refused (${status})` } } });
    const a = q.create('projects', { name: 'A' });
    const b = q.create('projects', { name: 'B' });
    await until(q, b, 'sent');
    expect(find(q, a)).toMatchObject({ state: 'failed', attempts: 0, error: { status, code: `CODE_${status}`, message: `refused (${status})` } });
    expect(server.keys()).toEqual([a.id, b.id]);
    expect(events.filter((e) => e.type === 'failed').map((e) => (e as { entry: WriteEntry }).entry.id)).toEqual([a.id]);
    await settle();
    expect(server.requests).toHaveLength(2);
  });

  test('a refusal without a JSON body still fails with its status', async () => {
    const { q } = makeQueue();
    server.fail({ kind: 'reply', status: 413 });
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'failed');
    expect(find(q, a)?.error).toEqual({ status: 413, message: `POST ${server.url}/api/projects: HTTP 413` });
  });

  test('backoff doubles with each failure, and nothing is sent before each wait is over', async () => {
    const { q, events, clock, fetches } = onClock({ backoff: { baseMs: 40, maxMs: 1000, jitter: 0 } });
    server.fail({ kind: 'reply', status: 503 }, { kind: 'drop' }, { kind: 'reply', status: 500 });
    const a = q.create('projects', { name: 'A' });
    for (const [i, delay] of [40, 80, 160].entries()) {
      await waitFor(`retry ${i + 1}`, () => retries(events).length === i + 1);
      expect(retries(events)[i]!.delayMs).toBe(delay);
      await waitFor(`wait ${i + 1}`, () => clock.pending[0] === delay);
      clock.advance(delay - 1);
      await settle();
      expect(fetches()).toBe(i + 1);
      clock.advance(1);
    }
    await until(q, a, 'sent');
    expect(server.requests).toHaveLength(4);
    expect(find(q, a)?.attempts).toBe(3);
  });

  test('Retry-After wins over the backoff, and nothing behind the write goes first', async () => {
    const { q, events, clock, fetches } = onClock();
    server.fail({ kind: 'reply', status: 429, headers: { 'retry-after': '1' } });
    const a = q.create('projects', { name: 'A' });
    const b = q.create('projects', { name: 'B' });
    await waitFor('the retry', () => retries(events).length === 1);
    expect(retries(events)[0]).toMatchObject({ delayMs: 1000, error: { status: 429 } });
    expect(find(q, a)?.nextAttemptAt).toBe(clock.now() + 1000);
    await waitFor('the wait', () => clock.pending[0] === 1000);
    clock.advance(999);
    await settle();
    expect(fetches()).toBe(1);
    expect(stateOf(q, b)).toBe('queued');
    clock.advance(1);
    await until(q, b, 'sent');
    expect(server.keys()).toEqual([a.id, a.id, b.id]);
  });

  test('a Retry-After past maxRetryAfterMs is capped', async () => {
    const { q, events, clock } = onClock({ maxRetryAfterMs: 120 });
    server.fail({ kind: 'reply', status: 503, headers: { 'retry-after': '3600' } });
    const a = q.create('projects', { name: 'A' });
    await waitFor('the retry', () => retries(events).length === 1);
    expect(retries(events)[0]).toMatchObject({ delayMs: 120 });
    await waitFor('the wait', () => clock.pending[0] === 120);
    clock.advance(120);
    await until(q, a, 'sent');
  });

  test('kick() ends a backoff wait at once', async () => {
    const { q, clock, fetches } = onClock();
    server.fail({ kind: 'reply', status: 503, headers: { 'retry-after': '3600' } });
    const a = q.create('projects', { name: 'A' });
    const b = q.create('projects', { name: 'B' });
    await waitFor('the wait', () => find(q, a)?.attempts === 1 && clock.pending[0] === 300_000);
    expect(fetches()).toBe(1);
    q.kick();
    await until(q, b, 'sent');
    expect(server.keys()).toEqual([a.id, a.id, b.id]);
  });

  test('offline (navigator.onLine false): nothing is tried until kick()', async () => {
    let online = false;
    const { q, fetches } = makeQueue({ online: () => online });
    const a = q.create('projects', { name: 'A' });
    await q.ready;
    await settle();
    expect(fetches()).toBe(0);
    expect(stateOf(q, a)).toBe('queued');
    q.kick(); // still offline
    await settle();
    expect(fetches()).toBe(0);
    online = true;
    q.kick();
    await until(q, a, 'sent');
    expect(server.keys()).toEqual([a.id]);
  });
});

describe('versions', () => {
  test('a later update of the same row is rebased onto the version an earlier one produced; other rows and other bases are not', async () => {
    server.seed('projects', { id: 'r1', name: 'v1' });
    server.seed('projects', { id: 'r2', name: 'v1' });
    const { q, events } = makeQueue();
    const u1 = q.update('projects', 'r1', { name: 'x' }, 1);
    const u2 = q.update('projects', 'r1', { name: 'y' }, 1);
    const other = q.update('projects', 'r2', { name: 'z' }, 1);
    const stale = q.update('projects', 'r1', { name: 'w' }, 0);
    await until(q, stale, 'conflict');
    expect(server.requests.map((r) => [r.path, r.ifMatch])).toEqual([
      ['/api/projects/r1', '"1"'],
      ['/api/projects/r1', '"2"'],
      ['/api/projects/r2', '"1"'],
      ['/api/projects/r1', '"0"'],
    ]);
    expect(find(q, u1)).toMatchObject({ state: 'sent', version: 2, baseVersion: 1 });
    expect(find(q, u2)).toMatchObject({ state: 'sent', version: 3, baseVersion: 2 });
    expect(find(q, other)).toMatchObject({ state: 'sent', version: 2 });
    expect(server.table('projects').get('r1')).toMatchObject({ name: 'y', version: 3 });
    expect(events.filter((e) => e.type === 'rebased').map((e) => e.type === 'rebased' && [e.entry.id, e.from, e.to])).toEqual([[u2.id, 1, 2]]);
  });

  test('a conflict holds the current row; keep mine resends against its version (same key), take theirs drops the write', async () => {
    server.seed('projects', { id: 'r1', name: 'theirs', version: 3 });
    server.seed('projects', { id: 'r2', name: 'theirs', version: 5 });
    const { q, events, storage } = makeQueue();
    const mine = q.update('projects', 'r1', { name: 'mine' }, 2);
    const gone = q.remove('projects', 'r2', 4);
    await until(q, gone, 'conflict');
    expect(find(q, mine)).toMatchObject({ state: 'conflict', error: { status: 409, code: 'CONFLICT' }, current: { id: 'r1', name: 'theirs', version: 3 } });
    expect(events.filter((e) => e.type === 'conflict')).toHaveLength(2);
    expect(q.pending().map((e) => e.state)).toEqual(['conflict', 'conflict']);
    expect(q.retry(mine.id)).toBe(false);

    expect(q.resolveConflict(mine.id, 'mine')).toBe(true);
    await until(q, mine, 'sent');
    expect(server.requests[2]).toMatchObject({ method: 'PATCH', key: mine.id, ifMatch: '"3"', outcome: 'applied' });
    expect(find(q, mine)).toMatchObject({ baseVersion: 3, version: 4, attempts: 0 });
    expect(find(q, mine)?.current).toBeUndefined();
    expect(server.table('projects').get('r1')).toMatchObject({ name: 'mine', version: 4 });

    expect(q.resolveConflict(gone.id, 'theirs')).toBe(true);
    expect(find(q, gone)).toBeUndefined();
    await settle();
    expect(server.requests).toHaveLength(3);
    expect(server.table('projects').get('r2')).toMatchObject({ version: 5 });
    await q.flush();
    expect((storage as ReturnType<typeof memoryStorage>).saved.map((e) => e.id)).toEqual([mine.id]);
    expect(q.resolveConflict(mine.id, 'theirs')).toBe(false);
  });

  test('a 409 without the current row (a create whose id exists) fails', async () => {
    server.seed('projects', { id: 'taken', name: 'x' });
    const { q } = makeQueue();
    const a = q.create('projects', { id: 'taken', name: 'y' });
    await until(q, a, 'failed');
    expect(find(q, a)?.error).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(find(q, a)?.current).toBeUndefined();
  });
});

describe('confirmation', () => {
  test('confirmTxids confirms a sent write when the stream brings its txid, and only then', async () => {
    const { q, events } = makeQueue();
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'sent');
    expect(find(q, a)?.txid).toBe('1000');
    expect(events.filter((e) => e.type === 'sent')).toHaveLength(1);
    q.confirmTxids(['999', '1001', undefined, null, '']);
    expect(stateOf(q, a)).toBe('sent');
    expect(q.pending()).toHaveLength(1);
    q.confirmTxids(new Set(['1000']));
    expect(stateOf(q, a)).toBe('confirmed');
    expect(q.pending()).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'confirmed', by: 'stream', entry: { id: a.id } });
  });

  test('the stream may bring the change before the answer: the write is confirmed when the answer comes', async () => {
    const { q, events } = makeQueue();
    server.onRequest = () => q.confirmTxids([String(server.nextTxid)]);
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'confirmed');
    expect(events.filter((e) => e.type === 'sent')).toHaveLength(0);
    expect(events.at(-1)).toMatchObject({ type: 'confirmed', by: 'stream' });
  });

  test('an answer without Realtime-Txid is confirmed at once', async () => {
    const { q, events } = makeQueue();
    server.fail({ kind: 'no-txid' });
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'confirmed');
    expect(events.at(-1)).toMatchObject({ type: 'confirmed', by: 'response' });
  });

  test('confirmThrough confirms what was answered before a list was read (of that resource)', async () => {
    const { q, events } = makeQueue();
    const a = q.create('projects', { name: 'A' });
    const b = q.create('data-layers', { name: 'B' });
    await until(q, b, 'sent');
    const answered = find(q, b)!.respondedAt!;
    q.confirmThrough(find(q, a)!.respondedAt! - 1);
    expect([stateOf(q, a), stateOf(q, b)]).toEqual(['sent', 'sent']);
    q.confirmThrough(answered, 'data-layers');
    expect([stateOf(q, a), stateOf(q, b)]).toEqual(['sent', 'confirmed']);
    q.confirmThrough(answered);
    expect([stateOf(q, a), stateOf(q, b)]).toEqual(['confirmed', 'confirmed']);
    expect(events.filter((e) => e.type === 'confirmed').map((e) => e.type === 'confirmed' && e.by)).toEqual(['refetch', 'refetch']);
  });

  test('a sent write nothing confirms counts as confirmed after sentTtlMs', async () => {
    const { q, events, clock } = onClock({ sentTtlMs: 100 });
    const a = q.create('projects', { name: 'A' });
    await until(q, a, 'sent');
    expect(clock.pending).toEqual([100]);
    clock.advance(99);
    expect(stateOf(q, a)).toBe('sent');
    clock.advance(1);
    expect(stateOf(q, a)).toBe('confirmed');
    expect(events.at(-1)).toMatchObject({ type: 'confirmed', by: 'expired' });
  });

  test('only the newest keepConfirmed confirmed entries stay listed and stored', async () => {
    const storage = memoryStorage();
    const { q } = makeQueue({ keepConfirmed: 1, storage });
    server.fail({ kind: 'no-txid' }, { kind: 'no-txid' }, { kind: 'no-txid' });
    q.create('projects', { name: 'A' });
    q.create('projects', { name: 'B' });
    const c = q.create('projects', { name: 'C' });
    await until(q, c, 'confirmed');
    expect(q.entries().map((e) => e.id)).toEqual([c.id]);
    await q.flush();
    expect(storage.saved.map((e) => e.id)).toEqual([c.id]);
  });
});

describe('control', () => {
  test('401 pauses the whole queue and keeps everything; resume() sends it all in order', async () => {
    const storage = memoryStorage();
    const { q, events, fetches } = makeQueue({ storage });
    server.fail({ kind: 'reply', status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'sign in' } } });
    const a = q.create('projects', { name: 'A' });
    const b = q.create('projects', { name: 'B' });
    await waitFor('the pause', () => q.paused);
    expect(events.find((e) => e.type === 'paused')).toEqual({ type: 'paused', reason: 'unauthorized' });
    q.kick();
    const c = q.create('projects', { name: 'C' });
    await settle();
    expect(fetches()).toBe(1);
    expect(find(q, a)).toMatchObject({ state: 'queued', attempts: 0, error: { status: 401, code: 'UNAUTHORIZED' } });
    await q.flush();
    expect(storage.saved.map((e) => [e.id, e.state])).toEqual([
      [a.id, 'queued'],
      [b.id, 'queued'],
      [c.id, 'queued'],
    ]);
    q.resume();
    await until(q, c, 'sent');
    expect(server.keys()).toEqual([a.id, a.id, b.id, c.id]);
    expect(find(q, a)?.error).toBeUndefined();
  });

  test('pause() holds what is queued; resume() goes on', async () => {
    const { q, fetches } = makeQueue();
    q.pause();
    const a = q.create('projects', { name: 'A' });
    await q.ready;
    await settle();
    expect(fetches()).toBe(0);
    q.resume();
    await until(q, a, 'sent');
  });

  test('retry() sends a failed write again with its key; discard() drops it from the list and the store', async () => {
    const storage = memoryStorage();
    const { q } = makeQueue({ storage });
    server.fail({ kind: 'reply', status: 422, body: { error: { code: 'BAD_REQUEST', message: 'name: too long' } } }, { kind: 'reply', status: 400 });
    const a = q.create('projects', { name: 'A' });
    const b = q.create('projects', { name: 'B' });
    await until(q, b, 'failed');
    expect(q.pending().map((e) => e.state)).toEqual(['failed', 'failed']);
    expect(q.retry(a.id)).toBe(true);
    await until(q, a, 'sent');
    expect(server.keys()).toEqual([a.id, b.id, a.id]);
    expect(find(q, a)?.error).toBeUndefined();
    // A retried write goes behind what was queued before it.
    expect(q.entries().map((e) => e.id)).toEqual([b.id, a.id]);

    expect(q.discard(b.id)).toBe(true);
    expect(find(q, b)).toBeUndefined();
    await q.flush();
    expect(storage.saved.map((e) => e.id)).toEqual([a.id]);
    expect(q.discard('nope')).toBe(false);
    expect(q.retry('nope')).toBe(false);
    expect(q.retry(a.id)).toBe(false); // sent: nothing to retry
  });

  test('discarding the write the queue waits behind lets the next one go at once; a write on the wire cannot be discarded', async () => {
    const { q } = makeQueue();
    server.fail({ kind: 'reply', status: 503, headers: { 'retry-after': '3600' } }, { kind: 'slow', ms: 100 });
    const a = q.create('projects', { name: 'A' });
    const b = q.create('projects', { name: 'B' });
    await waitFor('the 503', () => find(q, a)?.attempts === 1);
    expect(q.discard(a.id)).toBe(true);
    await waitFor('b on the wire', () => stateOf(q, b) === 'sending' && server.requests.length === 2);
    expect(q.discard(b.id)).toBe(false);
    await until(q, b, 'sent');
    expect(server.keys()).toEqual([a.id, b.id]);
  });

  test('clear() drops everything, an answer on its way included, and the queue stays usable', async () => {
    const storage = memoryStorage();
    const { q } = makeQueue({ storage });
    server.fail({ kind: 'hang' });
    q.create('projects', { name: 'A' });
    q.create('projects', { name: 'B' });
    await waitFor('the first request', () => server.requests.length === 1);
    await q.clear();
    expect(q.entries()).toEqual([]);
    expect(storage.saved).toEqual([]);
    const c = q.create('projects', { name: 'C' });
    await until(q, c, 'sent');
    expect(server.keys().slice(1)).toEqual([c.id]);
    expect(q.entries().map((e) => e.id)).toEqual([c.id]);
  });

  test('subscribers get every change; entries() is the same array until something changes', async () => {
    const { q } = makeQueue({ online: () => false });
    await q.ready;
    const seen: (readonly WriteEntry[])[] = [];
    const off = q.subscribe((entries) => seen.push(entries));
    const before = q.entries();
    expect(q.entries()).toBe(before);
    const a = q.create('projects', { name: 'A' });
    expect(seen.at(-1)).toBe(q.entries());
    expect(q.entries()).not.toBe(before);
    expect(seen.at(-1)!.map((e) => e.id)).toEqual([a.id]);
    off();
    q.create('projects', { name: 'B' });
    expect(seen).toHaveLength(1);
  });

  test('close() abandons the request on the wire and refuses new writes', async () => {
    const storage = memoryStorage();
    const { q } = makeQueue({ storage });
    server.fail({ kind: 'hang' });
    const a = q.create('projects', { name: 'A' });
    await waitFor('the request', () => server.requests.length === 1);
    await q.close();
    expect(() => q.create('projects', {})).toThrow(/closed/);
    expect(storage.saved.map((e) => [e.id, e.state])).toEqual([[a.id, 'sending']]);
  });
});

describe('another REST convention (the rest option)', () => {
  let items: WriteServer;
  beforeEach(async () => {
    items = await startWriteServer('items');
  });
  afterEach(async () => {
    await items.stop();
  });

  const rest: Partial<RestConvention> = {
    url: (resource, id) => `/v2/${resource}/items${id === undefined ? '' : `/${encodeURIComponent(id)}`}`,
    readError: (_status, body) => {
      const b = (body ?? {}) as { problem?: string; detail?: string; latest?: ApiRow; duplicate?: boolean };
      return { code: b.problem, message: b.detail, current: b.latest, idTaken: b.duplicate };
    },
  };

  test('writes go to its URLs; its refusals and conflicts are read by its readError', async () => {
    items.seed('projects', { id: 'r1', name: 'theirs', version: 3 });
    const { q } = makeQueue({ baseUrl: items.url, rest });
    const made = q.create('projects', { name: 'A' });
    const stale = q.update('projects', 'r1', { name: 'mine' }, 2);
    const missing = q.remove('projects', 'nope', 1);
    await until(q, missing, 'failed');
    expect(items.requests.map(requestLine)).toEqual(['POST /v2/projects/items', 'PATCH /v2/projects/items/r1', 'DELETE /v2/projects/items/nope']);
    expect(find(q, made)).toMatchObject({ state: 'sent', version: 1 });
    expect(find(q, stale)).toMatchObject({ state: 'conflict', error: { status: 409, code: 'CONFLICT' }, current: { id: 'r1', name: 'theirs', version: 3 } });
    expect(find(q, missing)?.error).toEqual({ status: 404, code: 'NOT_FOUND', message: 'no projects row nope' });
    expect(q.resolveConflict(stale.id, 'mine')).toBe(true);
    await until(q, stale, 'sent');
    expect(items.table('projects').get('r1')).toMatchObject({ name: 'mine', version: 4 });
  });

  test('only url given: the default readError still reads the project API body, and this server body is not mistaken for it', async () => {
    const { q } = makeQueue({ baseUrl: items.url, rest: { url: rest.url! } });
    const missing = q.remove('projects', 'nope');
    await until(q, missing, 'failed');
    expect(items.requests.map(requestLine)).toEqual(['DELETE /v2/projects/items/nope']);
    expect(find(q, missing)?.error).toEqual({ status: 404, message: `DELETE ${items.url}/v2/projects/items/nope: HTTP 404` });
  });
});

describe('randomUuid', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });
  test('v4 uuids, also where crypto.randomUUID is missing (a page served over plain http)', () => {
    expect(randomUuid()).toMatch(UUID);
    vi.stubGlobal('crypto', { getRandomValues: <T extends ArrayBufferView>(a: T) => webcrypto.getRandomValues(a as never) as T });
    const ids = Array.from({ length: 50 }, () => randomUuid());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(50);
  });
});
