// The write queue's versions (rebases, conflicts) and how a write it sent is confirmed:
// by the stream's txids, a list read after the answer, or its time running out.
import { describe, expect, test } from 'vitest';
import { find, makeQueue, onClock, server, settle, stateOf, until, useWriteServer } from '../../test/queue-harness.js';
import { memoryStorage } from './storage.js';

useWriteServer();

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
