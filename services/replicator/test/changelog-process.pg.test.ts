// The change log wired into the processes: `npm run replicator` with REDIS_URL appends
// and shows the log on /status, and refuses a REDIS_URL that is not Redis's; the
// replicator in a worker thread (npm start's) feeds an appender on the main thread.
import { expect, test } from 'vitest';
import { ReplicatorThread } from '../src/thread/thread';
import { quietLog, useDatabase, waitFor, waitForAllStamped, waitForMode, writeLoad } from './helpers';
import { expectStreamMatchesOutbox, untilCaughtUp, useRedis } from './changelog-helpers';

const fx = useDatabase();
const rx = useRedis();
const METRICS_TOKEN = 'changelog-test-token-0123456789';

test('npm run replicator with REDIS_URL appends every stamped change and shows the log on /status', async () => {
  const child = fx.spawn({ METRICS_TOKEN, REDIS_URL: rx.redis.url, CHANGELOG_PREFIX: 'process', CHANGELOG_RETENTION: '10m' });
  const reader = await rx.reader('process');
  const port = await waitFor('the HTTP port', async () => /Health: http:\/\/localhost:(\d+)\/healthz/.exec(child.output())?.[1]);
  await waitForMode(fx.pool, 'wal');
  await writeLoad(fx.db.url, { writers: 2, total: 600 });
  await waitForAllStamped(fx.pool);
  const { key, head } = await untilCaughtUp(reader, fx.pool);
  expect(await expectStreamMatchesOutbox(reader, fx.pool, key, head)).toBe(1);
  const status = await waitFor('/status to show the log at the head', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${port}/status`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).json()) as { changelog?: { lastSeq: number; lag: number } };
    return s.changelog?.lastSeq === head && s.changelog.lag === 0 ? s : null;
  });
  expect(status.changelog).toMatchObject({ key, lastSeq: head, lag: 0, connected: true, lastError: null });
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  expect(metrics).toMatch(new RegExp(`^realtime_changelog_appended_total ${head}$`, 'm'));
  expect(metrics).toMatch(/^realtime_changelog_epochs_opened_total 1$/m);
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  child.proc.kill('SIGTERM');
  expect(await child.exited).toBe(0);
});

test('a REDIS_URL that is not redis:// or rediss:// is refused at start, naming the fix', async () => {
  const child = fx.spawn({ REDIS_URL: 'http://127.0.0.1:6379' });
  expect(await child.exited).toBe(1);
  expect(child.output()).toMatch(/REDIS_URL: a redis:\/\/ or rediss:\/\/ URL/);
});

test('a replicator in a worker thread (npm start) feeds an appender on the main thread', async () => {
  const t = new ReplicatorThread({ directUrl: fx.db.url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 2000, lingerMs: 5, safetyPollMs: 200, walRetryMs: 1000, log: quietLog });
  const appender = rx.appender(t, fx.pool, 'thread');
  const reader = await rx.reader('thread');
  await appender.start();
  await t.start();
  try {
    await waitFor('the thread to lead', async () => t.status().role === 'leader');
    await writeLoad(fx.db.url, { writers: 4, total: 3000 });
    await waitForAllStamped(fx.pool);
    const { key, head } = await untilCaughtUp(reader, fx.pool);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, key, head)).toBeLessThanOrEqual(Math.max(1, head - 3000));
  } finally {
    await t.stop();
    await appender.stop();
  }
});
