import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import type { LoggedChange } from '../feed';
import { LimitNotes } from '../limits/notes';
import type { PageQuery } from './reader';
import { CURRENT_REUSE_MS, PageSources, SHARED_RUN_MS, SHARED_RUNS, type ReplayLog, type SourcedPage } from './sources';

const log = pino({ level: 'silent' });

const change = (seq: number): LoggedChange => ({ seq, table: 'projects', op: 'INSERT', newRow: { id: `p${seq}` }, oldRow: null, txid: String(seq), committedAt: '2025-01-01T00:00:00.000Z', rowBytes: 10, fp: `F${seq}` });

/**
 * A log in memory holding seqs 1..last of one stream, counting the page runs asked of it
 * (not the one-entry look at a replay's head that anchors the stream: sources.ts).
 */
function memoryLog(last: number, fail = false): ReplayLog & { asked: number; calls: number; last: number; currents: number; key: string } {
  const l = {
    asked: 0,
    /** Every range asked, the looks at a head included. */
    calls: 0,
    last,
    /** Reads of which stream is current. */
    currents: 0,
    key: 'realtime:log:e1',
    current: async () => {
      l.currents++;
      return l.key;
    },
    range: async (_key: string, after: number, count: number) => {
      l.calls++;
      if (count > 1) l.asked++;
      if (fail) throw new Error('Redis away');
      return Array.from({ length: Math.max(0, Math.min(count, l.last - after)) }, (_, i) => change(after + 1 + i));
    },
  };
  return l;
}

/** Each read a replay of its own, anchored at its page's upper bound as the outbox would have it. */
function sources(changeLog: ReplayLog, clock: { t: number }): { read(q: PageQuery): Promise<SourcedPage> } {
  // No page of these reaches the outbox: the pool is never asked.
  const s = new PageSources({ replayPool: {} as pg.Pool, changeLog, notes: new LimitNotes(log), log, now: () => clock.t });
  return { read: (query) => s.replay({ seq: query.upTo, fp: `F${query.upTo}` })(query) };
}

const q = (after: number, upTo = 100, limit = 10): PageQuery => ({ channel: 'projects', after, upTo, limit, maxBytes: 1 << 20, projects: null, projectColumn: 'id' });

describe('runs of the change log are shared by replays that read the same run', () => {
  test.each([
    ['the same run at once', [0, 0], [0, 0], 1],
    ['the same run within the window', [0, 0], [0, SHARED_RUN_MS], 1],
    ['the same run after the window', [0, 0], [0, SHARED_RUN_MS + 1], 2],
    ['another start', [0, 10], [0, 0], 2],
  ] as const)('%s: %i read(s)', async (_name, afters, times, reads) => {
    const l = memoryLog(100);
    const clock = { t: 0 };
    const s = sources(l, clock);
    const pages = [];
    for (const [i, after] of afters.entries()) {
      clock.t = times[i]!;
      pages.push(await s.read(q(after)));
    }
    expect(l.asked).toBe(reads);
    for (const [i, page] of pages.entries()) {
      expect(page.source).toBe('redis');
      expect(page.changes.map((c) => c.seq)).toEqual(Array.from({ length: 10 }, (_, k) => afters[i]! + 1 + k));
    }
  });

  test('concurrent replays share the read in flight', async () => {
    const l = memoryLog(100);
    const s = sources(l, { t: 0 });
    const pages = await Promise.all(Array.from({ length: 20 }, () => s.read(q(0))));
    expect(l.asked).toBe(1);
    expect(new Set(pages.map((p) => p.changes.map((c) => c.seq).join()))).toEqual(new Set(['1,2,3,4,5,6,7,8,9,10']));
  });

  test('a shared run that ends before the page does: what follows is asked of the log itself', async () => {
    const l = memoryLog(55);
    const s = sources(l, { t: 0 });
    expect((await s.read(q(50, 55))).changes.map((c) => c.seq)).toEqual([51, 52, 53, 54, 55]);
    l.last = 60;
    // The run held after 50 ends at 55, short of this page's head: it is read again.
    expect((await s.read(q(50, 60))).changes.map((c) => c.seq)).toEqual([51, 52, 53, 54, 55, 56, 57, 58, 59, 60]);
    expect(l.asked).toBe(2);
  });

  test('a short run held serves every page whose head it reaches, however the tail grew since', async () => {
    const l = memoryLog(55);
    const s = sources(l, { t: 0 });
    await s.read(q(50, 55));
    l.last = 70;
    expect((await s.read(q(50, 55))).changes.map((c) => c.seq)).toEqual([51, 52, 53, 54, 55]);
    expect((await s.read(q(50, 53))).changes.map((c) => c.seq)).toEqual([51, 52, 53]);
    expect(l.asked).toBe(1);
  });

  test('an empty run (the tail, before the next append) is asked again', async () => {
    const l = memoryLog(50);
    const s = sources(l, { t: 0 });
    await s.read(q(50, 60)).catch(() => undefined);
    l.last = 60;
    const page = await s.read(q(50, 60));
    expect(page.source).toBe('redis');
    expect(page.changes.map((c) => c.seq)).toEqual([51, 52, 53, 54, 55, 56, 57, 58, 59, 60]);
  });

  test('a failed run (Redis away) is asked again', async () => {
    const l = memoryLog(100, true);
    const s = sources(l, { t: 0 });
    await expect(s.read(q(0))).rejects.toThrow();
    await expect(s.read(q(0))).rejects.toThrow();
    // The look at the head failed each time: no run was kept, and no page read the log.
    expect(l.calls).toBe(2);
    expect(l.asked).toBe(0);
  });

  test(`at most ${SHARED_RUNS} runs are held, the oldest let go first`, async () => {
    const l = memoryLog(10_000);
    const s = sources(l, { t: 0 });
    for (let after = 0; after <= SHARED_RUNS; after++) await s.read(q(after * 10, 10_000));
    expect(l.asked).toBe(SHARED_RUNS + 1);
    await s.read(q(SHARED_RUNS * 10, 10_000));
    expect(l.asked).toBe(SHARED_RUNS + 1);
    await s.read(q(0, 10_000));
    expect(l.asked).toBe(SHARED_RUNS + 2);
  });
});

describe('which stream is current', () => {
  test.each([
    ['replays at once share one read', [0, 0, 0], 1],
    ['replays within the reuse share it', [0, CURRENT_REUSE_MS - 1], 1],
    ['a replay after it reads again', [0, CURRENT_REUSE_MS], 2],
  ] as const)('%s', async (_name, times, reads) => {
    const l = memoryLog(100);
    const clock = { t: 0 };
    const s = sources(l, clock);
    for (const t of times) {
      clock.t = t;
      expect((await s.read(q(0))).source).toBe('redis');
    }
    expect(l.currents).toBe(reads);
  });

  test('a stale name costs the replay the log, never a wrong page: another stream fails the anchor', async () => {
    const l = memoryLog(100);
    const clock = { t: 0 };
    const s = new PageSources({ replayPool: {} as pg.Pool, changeLog: l, notes: new LimitNotes(log), log, now: () => clock.t });
    await s.replay({ seq: 10, fp: 'F10' })(q(0, 10));
    // The outbox's change at the next replay's head is another than the stream's (a
    // restore): the held name leads to the old stream, whose entry there fails the anchor.
    const beforeOutbox = async () => {
      throw new Error('read from the outbox');
    };
    await expect(s.replay({ seq: 10, fp: 'other' }, beforeOutbox)(q(0, 10))).rejects.toThrow('read from the outbox');
    expect(l.currents).toBe(1);
  });
});
