import { describe, expect, test } from 'vitest';
import { Turns } from './turns';

describe('Turns', () => {
  test('at most max at once; the rest start in the order they asked', async () => {
    const turns = new Turns(2);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const all = [0, 1, 2, 3, 4].map((i) =>
      turns.take().then((release) => {
        started.push(i);
        releases[i] = release!;
      }),
    );
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(turns.stats).toEqual({ running: 2, waiting: 3 });
    releases[1]!();
    releases[1]!(); // a second release frees nothing more
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([0, 1, 2]);
    expect(turns.stats).toEqual({ running: 2, waiting: 2 });
    releases[0]!();
    releases[2]!();
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([0, 1, 2, 3, 4]);
    releases[3]!();
    releases[4]!();
    await Promise.all(all);
    expect(turns.stats).toEqual({ running: 0, waiting: 0 });
  });

  test('a waiter that gave up never runs and does not hold a place', async () => {
    const turns = new Turns(1);
    const first = await turns.take();
    let closed = false;
    const quitter = turns.take(() => closed);
    const next = turns.take();
    closed = true;
    turns.sweep();
    expect(await quitter).toBeNull();
    expect(turns.stats).toEqual({ running: 1, waiting: 1 });
    first!();
    const release = await next;
    expect(release).toBeTypeOf('function');
    expect(turns.stats).toEqual({ running: 1, waiting: 0 });
  });

  test('a waiter that gave up is skipped when the line reaches it, even unswept', async () => {
    const turns = new Turns(1);
    const first = await turns.take();
    const quitter = turns.take(() => true);
    first!();
    expect(await quitter).toBeNull();
    expect(turns.stats).toEqual({ running: 0, waiting: 0 });
  });

  test('a long line (a reconnect storm) is served in the order it asked, a sweep in the middle included', async () => {
    const turns = new Turns(2);
    const served: number[] = [];
    const gaveUp = new Set<number>();
    const all = Array.from({ length: 5000 }, (_, i) =>
      turns.take(() => gaveUp.has(i)).then((release) => {
        if (!release) return;
        served.push(i);
        // Released on a later turn of the loop, as a replay would be.
        setImmediate(release);
      }),
    );
    for (let i = 3000; i < 3100; i++) gaveUp.add(i);
    turns.sweep();
    expect(turns.stats.waiting).toBe(5000 - 2 - 100);
    await Promise.all(all);
    expect(served).toEqual(Array.from({ length: 5000 }, (_, i) => i).filter((i) => !gaveUp.has(i)));
    await new Promise((r) => setImmediate(r));
    expect(turns.stats).toEqual({ running: 0, waiting: 0 });
  });
});
