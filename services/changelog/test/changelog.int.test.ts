// The change log against a real redis-server (the testkit's, on a port of its own): the
// entry format, the append rules, blocking reads, retention, and Redis going away.
import { createLogger } from '@realtime/runtime';
import { startRedis, waitFor, type RunningRedis } from '@realtime/testkit';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ChangeLog, ChangeLogError, LogEntryError, NotCurrentError, type LogChange, type Retention } from '../src/index';

const change = (seq: number, over: Partial<LogChange> = {}): LogChange => ({
  seq,
  table: 'tasks',
  op: 'UPDATE',
  newRow: { id: `t${seq}`, title: `Tâche n° ${seq} — ✓ 日本語 🚀`, amount: '12345678901234567890.000001', tags: ['a', { b: [1, null, true] }], meta: { deep: { deeper: { n: 1.25, s: '' } } } },
  oldRow: { id: `t${seq}`, title: 'before', amount: '0' },
  txid: String(1000 + seq),
  committedAt: `2026-12-07T10:00:${String(seq % 60).padStart(2, '0')}.123456Z`,
  rowBytes: 200 + seq,
  fp: `fp-${seq}`,
  ...over,
});
const run = (from: number, to: number): LogChange[] => Array.from({ length: to - from + 1 }, (_, i) => change(from + i));
const seqs = (cs: LogChange[]): number[] => cs.map((c) => c.seq);

type Raw = ReturnType<typeof createClient<{}, {}, {}, 2>>;

const lines: string[] = [];
const log = createLogger('info', {}, { sink: (line) => lines.push(line) });
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

let redis: RunningRedis;
let raw: Raw;
const opened: ChangeLog[] = [];

async function openLog(retention: Retention = { maxLen: 10_000 }, url = redis.url): Promise<ChangeLog> {
  const l = new ChangeLog({ url, retention, log });
  opened.push(l);
  await l.connect();
  return l;
}

async function redisMs(client: Raw): Promise<number> {
  const [s, us] = (await client.sendCommand(['TIME'])) as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

async function blockedClients(client: Raw): Promise<number> {
  const info = String(await client.sendCommand(['INFO', 'clients']));
  return Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function rawClient(url: string): Promise<Raw> {
  const c = createClient({ url, RESP: 2 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  redis = await startRedis();
  raw = await rawClient(redis.url);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((l) => l.close()));
});

afterAll(async () => {
  raw?.destroy();
  await redis?.stop();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('the entry format', () => {
  test('one entry per change, ID <seq>-0, the change as JSON in c; range, read and lastOf give it back exactly', async () => {
    const l = await openLog();
    const key = await l.openEpoch();
    expect(key).toMatch(/^realtime:log:[0-9a-f-]{36}$/);
    expect(await l.current()).toBe(key);
    expect(await raw.get('realtime:current')).toBe(key);
    expect([await l.lastOf(key), await l.firstSeq(key)]).toEqual([null, null]);

    const batch = [change(1, { op: 'INSERT', oldRow: null }), change(2), change(3, { op: 'DELETE', newRow: null })];
    expect(await l.append(key, batch)).toEqual({ appended: 3, skipped: 0, gapAfter: null });

    const entries = (await raw.xRange(key, '-', '+')) ?? [];
    expect(entries.map((e) => e.id)).toEqual(['1-0', '2-0', '3-0']);
    expect(JSON.parse(entries[1]!.message.c!)).toEqual(batch[1]);
    expect(Object.keys(entries[0]!.message).sort()).toEqual(['c', 't']);

    expect(await l.range(key, 0, 10)).toEqual(batch);
    expect(await l.range(key, 1, 1)).toEqual([batch[1]]);
    expect(await l.range(key, 3, 10)).toEqual([]);
    expect(await l.read(key, 0, { blockMs: 1000, count: 2 })).toEqual(batch.slice(0, 2));
    expect(await l.read(key, 2, { blockMs: 1000, count: 10 })).toEqual([batch[2]]);
    expect(await l.lastOf(key)).toEqual({ seq: 3, fp: 'fp-3' });
    expect(await l.firstSeq(key)).toBe(1);
  });

  test('an entry the log did not write is named by key and ID', async () => {
    const l = await openLog();
    const key = await l.openEpoch();
    await raw.xAdd(key, '1-0', { c: '{"seq":1,"table":"tasks"}' });
    await expect(l.range(key, 0, 10)).rejects.toThrow(LogEntryError);
    await expect(l.lastOf(key)).rejects.toThrow(`change log entry 1-0 of ${key} is malformed`);
  });

  test('a prefix of its own keeps deployments apart', async () => {
    const a = new ChangeLog({ url: redis.url, prefix: '{staging}', retention: { maxLen: 10 }, log });
    opened.push(a);
    await a.connect();
    const key = await a.openEpoch();
    expect(key).toMatch(/^\{staging\}:log:/);
    expect(await raw.get('{staging}:current')).toBe(key);
  });
});

describe('the append rules', () => {
  test('a second writer appending an overlap skips what is there: no duplicates', async () => {
    const [a, b] = await Promise.all([openLog(), openLog()]);
    const key = await a.openEpoch();
    expect(await a.append(key, run(1, 5))).toEqual({ appended: 5, skipped: 0, gapAfter: null });
    expect(await b.append(key, run(3, 8))).toEqual({ appended: 3, skipped: 3, gapAfter: null });
    expect(await b.append(key, run(1, 8))).toEqual({ appended: 0, skipped: 8, gapAfter: null });
    expect(await a.append(key, run(8, 9))).toEqual({ appended: 1, skipped: 1, gapAfter: null });
    expect(seqs(await a.range(key, 0, 100))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await raw.xLen(key)).toBe(9);
  });

  test('a batch that does not follow on writes nothing and says where the gap starts', async () => {
    const l = await openLog();
    const key = await l.openEpoch();
    await l.append(key, run(1, 3));
    expect(await l.append(key, run(5, 6))).toEqual({ appended: 0, skipped: 0, gapAfter: 3 });
    expect(await l.lastOf(key)).toEqual({ seq: 3, fp: 'fp-3' });
    expect(await raw.xLen(key)).toBe(3);
    // Filled from the outbox, the same batch then goes in.
    expect(await l.append(key, run(4, 6))).toEqual({ appended: 3, skipped: 0, gapAfter: null });
  });

  test('an empty history starts at whatever seq comes first', async () => {
    const l = await openLog();
    const key = await l.openEpoch();
    expect(await l.append(key, run(500, 501))).toEqual({ appended: 2, skipped: 0, gapAfter: null });
    expect(await l.firstSeq(key)).toBe(500);
  });

  test('a batch with a hole of its own is refused before Redis sees it', async () => {
    const l = await openLog();
    const key = await l.openEpoch();
    await expect(l.append(key, [change(1), change(3)])).rejects.toThrow(/seq 3 at index 1 does not follow 1/);
    expect(await raw.exists(key)).toBe(0);
  });

  test('a writer of a history that is no longer current writes nothing', async () => {
    const [old, fresh] = await Promise.all([openLog(), openLog()]);
    const before = await old.openEpoch();
    await old.append(before, run(1, 2));
    const after = await fresh.openEpoch();
    expect(after).not.toBe(before);
    const err = await old.append(before, run(3, 4)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NotCurrentError);
    expect(err).toMatchObject({ key: before, current: after });
    expect(seqs(await old.range(before, 0, 10))).toEqual([1, 2]);
    // Nor into the new history: the deposed writer's seqs are not its to write.
    expect(await fresh.firstSeq(after)).toBeNull();
    expect(await fresh.append(after, run(3, 4))).toEqual({ appended: 2, skipped: 0, gapAfter: null });
  });
});

describe('blocking reads', () => {
  test('read waits for the next append, and a blocked read holds up no command of the same log', async () => {
    const l = await openLog();
    const key = await l.openEpoch();
    await l.append(key, run(1, 3));
    expect(await blockedClients(raw)).toBe(0);
    let result: LogChange[] | null = null;
    const reading = l.read(key, 3, { blockMs: 0, count: 10 }).then((r) => (result = r));
    await waitFor(async () => (await blockedClients(raw)) === 1, { what: 'the read to block in Redis' });
    // With blockMs 0 the read waits for ever: these would never answer if they queued behind it.
    expect(await l.current()).toBe(key);
    expect(seqs(await l.range(key, 0, 10))).toEqual([1, 2, 3]);
    expect(result).toBeNull();
    expect(await l.append(key, run(4, 5))).toEqual({ appended: 2, skipped: 0, gapAfter: null });
    await reading;
    expect(seqs(result!)).toEqual([4, 5]);
  });

  test('a read that times out gives nothing, and close() ends a blocked read with nothing', async () => {
    const l = await openLog();
    const key = await l.openEpoch();
    await l.append(key, run(1, 1));
    expect(await l.read(key, 1, { blockMs: 1, count: 10 })).toEqual([]);
    const reading = l.read(key, 1, { blockMs: 0, count: 10 });
    await waitFor(async () => (await blockedClients(raw)) === 1, { what: 'the read to block in Redis' });
    await l.close();
    expect(await reading).toEqual([]);
  });
});

describe('retention', () => {
  test('maxLen keeps about the newest maxLen (whole stream nodes go)', async () => {
    const l = await openLog({ maxLen: 50 });
    const key = await l.openEpoch();
    for (let s = 1; s <= 1000; s += 25) await l.append(key, run(s, s + 24));
    const len = await raw.xLen(key);
    const nodeSize = Number((await raw.configGet('stream-node-max-entries'))['stream-node-max-entries']);
    expect(len).toBeGreaterThanOrEqual(50);
    expect(len).toBeLessThanOrEqual(50 + nodeSize);
    expect(await l.firstSeq(key)).toBe(1000 - len + 1);
    expect(await l.lastOf(key)).toEqual({ seq: 1000, fp: 'fp-1000' });
  });

  describe('where the trim lands (one entry per stream node, so the trim is exact)', () => {
    let exact: RunningRedis;
    let exactRaw: Raw;
    beforeAll(async () => {
      exact = await startRedis({ args: ['--stream-node-max-entries', '1'] });
      exactRaw = await rawClient(exact.url);
    });
    afterAll(async () => {
      exactRaw?.destroy();
      await exact?.stop();
    });

    test('maxLen alone keeps the newest maxLen', async () => {
      const l = await openLog({ maxLen: 5 }, exact.url);
      const key = await l.openEpoch();
      for (let s = 1; s <= 20; s += 4) await l.append(key, run(s, s + 3));
      expect(seqs(await l.range(key, 0, 100))).toEqual([16, 17, 18, 19, 20]);
    });

    test('minAgeMs keeps what is younger than maxLen would', async () => {
      const l = await openLog({ maxLen: 5, minAgeMs: 3_600_000 }, exact.url);
      const key = await l.openEpoch();
      for (let s = 1; s <= 50; s += 10) await l.append(key, run(s, s + 9));
      expect(await exactRaw.xLen(key)).toBe(50);
    });

    test('a stream younger than minAgeMs is not searched: one read of its oldest entry per append, however long it is', async () => {
      const l = await openLog({ minAgeMs: 3_600_000 }, exact.url);
      const key = await l.openEpoch();
      for (let s = 1; s <= 4096; s += 512) await l.append(key, run(s, s + 511));
      const xranges = async () => Number(/cmdstat_xrange:calls=(\d+)/.exec(String(await exactRaw.sendCommand(['INFO', 'commandstats'])))?.[1] ?? 0);
      const before = await xranges();
      for (let s = 4097; s <= 4106; s++) await l.append(key, run(s, s));
      // A binary search over 4,000 entries would read 12 more per append.
      expect(await xranges()).toBe(before + 10);
      expect(await exactRaw.xLen(key)).toBe(4106);
    });

    test('minAgeMs alone drops what was appended before now - minAgeMs, and never the newest', async () => {
      const minAgeMs = 200;
      const l = await openLog({ minAgeMs }, exact.url);
      const key = await l.openEpoch();
      await l.append(key, run(1, 10));
      const at = Number((await exactRaw.xRange(key, '10-0', '10-0'))?.[0]!.message.t);
      expect(at).toBeGreaterThan(0);
      await waitFor(async () => (await redisMs(exactRaw)) >= at + minAgeMs + 1, { what: `Redis's clock to pass ${minAgeMs} ms after the first append` });
      // An overlap appends nothing and trims nothing.
      expect(await l.append(key, run(10, 10))).toEqual({ appended: 0, skipped: 1, gapAfter: null });
      expect(await l.firstSeq(key)).toBe(1);
      await l.append(key, run(11, 12));
      expect(seqs(await l.range(key, 0, 100))).toEqual([11, 12]);

      const t11 = Number((await exactRaw.xRange(key, '12-0', '12-0'))?.[0]!.message.t);
      await waitFor(async () => (await redisMs(exactRaw)) >= t11 + minAgeMs + 1, { what: `Redis's clock to pass ${minAgeMs} ms after the second append` });
      await l.append(key, run(13, 13));
      expect(seqs(await l.range(key, 0, 100))).toEqual([13]);
      expect(await l.lastOf(key)).toEqual({ seq: 13, fp: 'fp-13' });
    });
  });
});

describe('Redis going away', () => {
  test('commands reject naming the URL while it is down, and after a restart the log is empty and works', async () => {
    const own = await startRedis();
    try {
      const from = lines.length;
      const l = await openLog({ maxLen: 100 }, own.url);
      const key = await l.openEpoch();
      await l.append(key, run(1, 3));
      const reading = l.read(key, 3, { blockMs: 0, count: 10 }).then(() => null, (e: unknown) => e);
      const ownRaw = await rawClient(own.url);
      await waitFor(async () => (await blockedClients(ownRaw)) === 1, { what: 'the read to block in Redis' });
      ownRaw.destroy();

      await own.kill();
      const readErr = await reading;
      expect(readErr).toBeInstanceOf(ChangeLogError);
      expect((readErr as Error).message).toContain(own.url);
      for (const op of [() => l.current(), () => l.append(key, run(4, 4)), () => l.range(key, 0, 10), () => l.lastOf(key), () => l.read(key, 0, { blockMs: 10, count: 1 })]) {
        const err = await op().then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(ChangeLogError);
        expect((err as Error).message).toMatch(new RegExp(`^change log at ${own.url.replace(/[.]/g, '\\.')}: `));
      }
      await waitFor(() => lines.slice(from).some((s) => s.includes('lost Redis; reconnecting')), { what: 'the loss to be logged' });
      // A log that starts while Redis is down says so at once rather than waiting for it.
      const late = new ChangeLog({ url: own.url, retention: { maxLen: 100 }, log });
      await expect(late.connect()).rejects.toThrow(`change log at ${own.url}: connect failed: connect ECONNREFUSED`);

      await own.restart();
      expect(await waitFor(async () => (await l.current()) === null, { what: 'the log to reach the restarted Redis' })).toBe(true);
      expect(await l.lastOf(key)).toBeNull();
      expect(await l.firstSeq(key)).toBeNull();
      // current is unset: the old history's writer is refused, a new epoch works (the script is sent again).
      await expect(l.append(key, run(4, 4))).rejects.toThrow(NotCurrentError);
      const next = await l.openEpoch();
      expect(await l.append(next, run(4, 5))).toEqual({ appended: 2, skipped: 0, gapAfter: null });
      await waitFor(() => (l.read(next, 4, { blockMs: 1000, count: 10 }).then((r) => seqs(r).join() === '5')), { what: 'reads to work again' });
      await waitFor(() => lines.slice(from).some((s) => s.includes('Redis is back')), { what: 'the return to be logged' });
      expect(lines.slice(from).filter((s) => s.includes('lost Redis; reconnecting')).length).toBeLessThanOrEqual(2);
    } finally {
      await own.stop();
    }
  });
});
