// The write queue's retries against a real HTTP server that fails on order: connections
// dropped before or after the write, answers that never come, 5xx with Retry-After, 4xx.
// Where a test says how long the queue waits, or that nothing happens meanwhile, the
// queue runs on a clock the test moves (ManualClock).
import { describe, expect, test } from 'vitest';
import { find, makeQueue, onClock, retries, server, settle, stateOf, until, useWriteServer, waitFor } from '../../test/queue-harness.js';
import type { WriteEntry } from './queue.js';

useWriteServer();

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
