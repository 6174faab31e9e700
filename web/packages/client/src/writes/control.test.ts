// The write queue's controls (pause, resume, retry, discard, clear, close, subscribers),
// its REST convention as an option, and its uuids.
import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { ApiRow } from '@realtime/protocol';
import { find, makeQueue, requestLine, server, settle, stateOf, until, useWriteServer, waitFor, UUID } from '../../test/queue-harness.js';
import { startWriteServer, type WriteServer } from '../../test/write-server.js';
import { randomUuid, type WriteEntry } from './queue.js';
import type { RestConvention } from './rest.js';
import { memoryStorage } from './storage.js';

useWriteServer();

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
