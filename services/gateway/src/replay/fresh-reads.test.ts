import { describe, expect, test } from 'vitest';
import { FreshReads } from './fresh-reads';

/** A read that stays open until released, recording the keys each read was asked for. */
function gatedReads() {
  const reads: { keys: number[]; release: (v?: unknown) => void; fail: (e: Error) => void }[] = [];
  const fresh = new FreshReads<number, number[]>(
    (keys) =>
      new Promise((resolve, reject) => {
        const r = { keys: [...keys], release: () => resolve([...keys]), fail: reject };
        reads.push(r);
      }),
  );
  return { fresh, reads };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('FreshReads', () => {
  test('callers in the same turn share one read, with every key', async () => {
    const { fresh, reads } = gatedReads();
    const a = fresh.ask([1]);
    const b = fresh.ask([2, 3]);
    await tick();
    expect(reads.map((r) => r.keys)).toEqual([[1, 2, 3]]);
    reads[0]!.release();
    expect(await a).toEqual([1, 2, 3]);
    expect(await b).toEqual([1, 2, 3]);
    expect(fresh.stats).toEqual({ batches: 1, asked: 2 });
  });

  test('a caller that asks while a read runs gets the next read, never the running one', async () => {
    const { fresh, reads } = gatedReads();
    const first = fresh.ask([1]);
    await tick();
    const second = fresh.ask([2]);
    const third = fresh.ask([3]);
    await tick();
    // Only one statement at a time: the second waits for the first to end.
    expect(reads).toHaveLength(1);
    reads[0]!.release();
    expect(await first).toEqual([1]);
    await tick();
    expect(reads.map((r) => r.keys)).toEqual([[1], [2, 3]]);
    reads[1]!.release();
    expect(await second).toEqual([2, 3]);
    expect(await third).toEqual([2, 3]);
  });

  test('a failed read fails its callers only: the next batch reads again', async () => {
    const { fresh, reads } = gatedReads();
    const first = fresh.ask([1]);
    await tick();
    const second = fresh.ask([2]);
    reads[0]!.fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await tick();
    expect(reads).toHaveLength(2);
    reads[1]!.release();
    expect(await second).toEqual([2]);
  });

  test('each read begins only after every caller it answers asked', async () => {
    let clock = 0;
    const begun: number[] = [];
    const fresh = new FreshReads<number, number>(async () => {
      begun.push(clock++);
      await tick();
      return begun.length - 1;
    });
    const callers: { askedAt: number; read: Promise<number> }[] = [];
    for (let i = 0; i < 20; i++) {
      callers.push({ askedAt: clock++, read: fresh.ask([i]) });
      if (i % 3 === 0) await tick();
    }
    for (const [i, c] of callers.entries()) {
      const read = await c.read;
      expect(begun[read]!, `caller ${i}`).toBeGreaterThan(c.askedAt);
    }
    expect(fresh.stats.asked).toBe(20);
    expect(fresh.stats.batches).toBe(begun.length);
    expect(begun.length).toBeLessThan(20);
  });
});

describe('FreshReads with room for more than one read', () => {
  test('up to `concurrency` reads run at once; the callers after them share the next', async () => {
    const reads: { keys: number[]; release: () => void }[] = [];
    const fresh = new FreshReads<number, number[]>((keys) => new Promise((resolve) => reads.push({ keys: [...keys], release: () => resolve([...keys]) })), 2);
    const a = fresh.ask([1]);
    await tick();
    const b = fresh.ask([2]);
    await tick();
    const c = fresh.ask([3]);
    const d = fresh.ask([4]);
    await tick();
    expect(reads.map((r) => r.keys)).toEqual([[1], [2]]);
    reads[1]!.release();
    expect(await b).toEqual([2]);
    await tick();
    expect(reads.map((r) => r.keys)).toEqual([[1], [2], [3, 4]]);
    reads[0]!.release();
    reads[2]!.release();
    expect(await a).toEqual([1]);
    expect(await c).toEqual([3, 4]);
    expect(await d).toEqual([3, 4]);
  });
});
