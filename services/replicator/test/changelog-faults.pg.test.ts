// Redis failing under the change log appender, on a real redis-server: killed during
// writes and restarted empty (a new epoch that follows on from the head), and frozen
// with SIGSTOP (stamping goes on; the log catches up after, with no gap). Either way one
// warning when it goes and one line when it is back, and the replicator stays healthy.
import { expect, test } from 'vitest';
import { replicatorHealth } from '../src/service';
import { inProcess, useDatabase, waitFor, waitForAllStamped, waitForMode, writeLoad } from './helpers';
import { capturedLog, expectStreamMatchesOutbox, outboxHeadOf, untilCaughtUp, useRedis } from './changelog-helpers';

const fx = useDatabase();
const rx = useRedis();

// The first failure names itself by what failed: Redis itself, or (when Redis vanished
// between two steps of a reconcile) the step that was under way; either is the one warning.
const LOST = /change log does not answer|change log appender failed/;
const BACK = /change log answers again/;

test('Redis killed during writes, then restarted empty: a new epoch that follows on from the head', async () => {
  const { log, lines } = capturedLog();
  const replicator = inProcess(fx.db.url);
  const appender = rx.appender(replicator, fx.pool, 'killed', { log });
  const reader = await rx.reader('killed');
  await appender.start();
  await replicator.start();
  const signal = { stop: false };
  let load: Promise<number> | null = null;
  try {
    await waitForMode(fx.pool, 'wal');
    load = writeLoad(fx.db.url, { writers: 4, total: 1_000_000, signal });
    const before = await waitFor('the log to follow the writes', async () => {
      const k = await reader.current();
      return k !== null && ((await reader.lastOf(k))?.seq ?? 0) > 1000 ? k : false;
    });
    await rx.redis.kill();
    const headAtKill = await outboxHeadOf(fx.pool);
    await waitFor('stamping to go on without Redis', async () => (await outboxHeadOf(fx.pool)) > headAtKill + 1000, 60_000);
    await waitFor('the appender to notice', async () => !appender.status().connected);
    expect(replicatorHealth(replicator.status()).ok).toBe(true);
    expect(appender.health().ok).toBe(true);
    signal.stop = true;
    await load;
    await waitForAllStamped(fx.pool);

    await rx.redis.restart();
    const { key, head } = await untilCaughtUp(reader, fx.pool);
    expect(key, 'the empty Redis got a new history').not.toBe(before);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, key, head), 'starting at the head page, nothing older').toBe(head - 999);

    signal.stop = false;
    load = writeLoad(fx.db.url, { writers: 4, total: 2000, signal });
    await load;
    await waitForAllStamped(fx.pool);
    const after = await untilCaughtUp(reader, fx.pool);
    expect(after.key).toBe(key);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, key, after.head)).toBe(head - 999);
    await waitFor('the status to show the log connected', async () => appender.status().connected);
    // A lost connection is reported after the logger's grace (LOSS_GRACE_MS), which an
    // outage this short can outlast: the line is waited for, then counted.
    await waitFor('the loss to be reported', async () => lines().some((l) => LOST.test(l.msg)));
    expect(lines().filter((l) => LOST.test(l.msg)), `one warning when lost, not one per retry; logged: ${JSON.stringify(lines().map((l) => l.msg))}`).toHaveLength(1);
    expect(lines().filter((l) => BACK.test(l.msg)), 'one line when back').toHaveLength(1);
  } finally {
    signal.stop = true;
    await load?.catch(() => undefined);
    await replicator.stop();
    await appender.stop();
  }
});

test('Redis frozen (SIGSTOP): stamping goes on, and after SIGCONT the log catches up with no gap', async () => {
  const { log, lines } = capturedLog();
  const replicator = inProcess(fx.db.url);
  const appender = rx.appender(replicator, fx.pool, 'frozen', { log });
  const reader = await rx.reader('frozen');
  await appender.start();
  await replicator.start();
  const signal = { stop: false };
  let load: Promise<number> | null = null;
  try {
    await waitForMode(fx.pool, 'wal');
    const key = await waitFor('a history to be opened', () => reader.current());
    load = writeLoad(fx.db.url, { writers: 4, total: 1_000_000, signal });
    const start = await outboxHeadOf(fx.pool);
    await waitFor('the log to follow the writes', async () => ((await reader.lastOf(key))?.seq ?? 0) > start + 500);
    await rx.redis.pause();
    const headAtPause = await outboxHeadOf(fx.pool);
    await waitFor('the outbox head to advance while Redis is frozen', async () => (await outboxHeadOf(fx.pool)) > headAtPause + 2000, 60_000);
    await waitFor('the appender to notice', async () => !appender.status().connected);
    expect(replicatorHealth(replicator.status()).ok).toBe(true);
    await rx.redis.resume();
    await waitFor('the appender to be back', async () => appender.status().connected, 30_000);
    signal.stop = true;
    await load;
    await waitForAllStamped(fx.pool);
    const end = await untilCaughtUp(reader, fx.pool);
    expect(end.key, 'the same history: nothing was lost in Redis').toBe(key);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, key, end.head)).toBeLessThanOrEqual(start + 1);
    expect(lines().filter((l) => LOST.test(l.msg)), `logged: ${JSON.stringify(lines().map((l) => l.msg))}`).toHaveLength(1);
    expect(lines().filter((l) => BACK.test(l.msg))).toHaveLength(1);
  } finally {
    signal.stop = true;
    await load?.catch(() => undefined);
    if (rx.redis.running) await rx.redis.resume().catch(() => undefined);
    await replicator.stop();
    await appender.stop();
  }
});
