// The write queue against a real HTTP server (test/write-server.ts) that keeps rows with
// versions and idempotency records the way the API's contract has them: order, and
// persistence across queues over one store.
import { describe, expect, test } from 'vitest';
import { find, makeQueue, requestLine, server, settle, until, useWriteServer, waitFor, UUID } from '../../test/queue-harness.js';
import type { WriteEntry } from './queue.js';
import { memoryStorage, type QueueStorage } from './storage.js';

useWriteServer();

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
