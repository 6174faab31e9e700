// The replicator in a worker thread (npm start's): it leads, stamps, and hands every stamped
// batch to this thread in seq order; its status and metrics follow; stop releases the leader
// lock; a worker that crashes is logged and started again, one that cannot start fails start().
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { metricsText, type MetricsJson } from '@realtime/runtime';
import { replicatorErrors } from '../src/metrics';
import { ReplicatorThread, type ThreadOptions } from '../src/thread/thread';
import type { ReplicatorConfig } from '../src/replicator';
import type { StampedChange } from '../src/sequencer/stamp';
import { expectDense, quietLog, stateOf, useDatabase, waitFor, waitForAllStamped, writeLoad } from './helpers';

const fx = useDatabase();

function config(overrides: Partial<ReplicatorConfig> = {}): ReplicatorConfig {
  return { directUrl: fx.db.url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 2000, lingerMs: 5, safetyPollMs: 200, walRetryMs: 1000, log: quietLog, ...overrides };
}

/** A logger whose lines (errors only, so the worker stays quiet) the test can read. */
function capturingLog(): { log: ReplicatorConfig['log']; lines: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { log: pino({ level: 'error' }, stream), lines: () => out };
}

function thread(overrides: Partial<ReplicatorConfig> = {}, opts: ThreadOptions = {}): ReplicatorThread {
  return new ReplicatorThread(config(overrides), opts);
}

const sample = (metrics: MetricsJson, name: string, labels: Record<string, string> = {}) =>
  metrics.find((m) => m.name === name)?.values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))?.value;

test('leads, stamps 5,000 changes from 8 writers, and hands every batch over in seq order, exactly once', async () => {
  const t = thread();
  const seqs: number[] = [];
  const bad: string[] = [];
  t.onStamped((changes: StampedChange[], head: number) => {
    for (const c of changes) seqs.push(c.seq);
    if (changes.at(-1)!.seq !== head) bad.push(`head ${head} after seq ${changes.at(-1)!.seq}`);
    if (typeof changes[0]!.committedAt !== 'string' || typeof changes[0]!.table !== 'string') bad.push('a change lost its fields on the way');
  });
  await t.start();
  try {
    await waitFor('the thread to lead in WAL mode', async () => t.status().role === 'leader' && t.status().mode === 'wal');
    expect(t.status().identity).toContain(`:${process.pid}:`);
    expect((await stateOf(fx.pool)).leader).toBe(t.status().identity);

    const written = await writeLoad(fx.db.url, { writers: 8, total: 5000 });
    expect(written).toBe(5000);
    const n = await waitForAllStamped(fx.pool);
    await expectDense(fx.pool);
    await waitFor('every stamped row to cross the thread boundary', async () => seqs.length >= n);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(bad).toEqual([]);
    // The status is pushed with each batch, so it is current as soon as the rows are.
    expect(t.status()).toMatchObject({ role: 'leader', mode: 'wal', headSeq: n, stampedSinceStart: n });

    // The worker's registry, merged into this thread's text once per name.
    const metrics = await t.foreignMetrics();
    expect(metrics).not.toBeNull();
    expect(sample(metrics!, 'realtime_changes_stamped_total')).toBe(n);
    expect(sample(metrics!, 'realtime_replicator_mode', { mode: 'wal' })).toBe(1);
    const text = await metricsText([metrics!]);
    expect(text.match(/^# HELP realtime_changes_stamped_total /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE realtime_changes_stamped_total counter$/gm)).toHaveLength(1);
    expect(text).toMatch(new RegExp(`^realtime_changes_stamped_total ${n}$`, 'm'));
    expect(text.match(/^realtime_stamp_latency_seconds_count \d+$/gm)).toHaveLength(1);
  } finally {
    await t.stop();
  }
  expect(t.status()).toMatchObject({ role: 'stopped', mode: 'down' });
  expect((await stateOf(fx.pool)).mode).toBe('down');
});

test('stop() steps down and releases the leader lock: a standby thread takes over', async () => {
  const a = thread();
  const b = thread();
  await a.start();
  await waitFor('a to lead', async () => a.status().role === 'leader' && a.status().mode === 'wal');
  await b.start();
  await waitFor('b to wait as a standby', async () => b.status().role === 'standby');
  try {
    await a.stop();
    expect(a.status().role).toBe('stopped');
    // b only ever leads if a let go of the lock: a's connections are closed, not left to time out.
    await waitFor('b to lead', async () => b.status().role === 'leader' && b.status().mode === 'wal', 10_000);
    expect((await stateOf(fx.pool)).leader).toBe(b.status().identity);
    await fx.pool.query(`INSERT INTO projects (name) VALUES ('after the handover')`);
    await waitForAllStamped(fx.pool);
    await expectDense(fx.pool);
  } finally {
    await b.stop();
  }
});

test('a worker that crashes is logged with its error and started again after a backoff; it leads again', async () => {
  const { log, lines } = capturingLog();
  const errorsBefore = (await replicatorErrors.get()).values.find((v) => v.labels.component === 'replicator_thread')?.value ?? 0;
  const t = thread({ log }, { entry: new URL('./fixtures/crashing-worker.ts', import.meta.url), restart: { firstMs: 300, maxMs: 1000, healthyAfterMs: 60_000 } });
  const seqs: number[] = [];
  t.onStamped((changes) => seqs.push(...changes.map((c) => c.seq)));
  await t.start();
  try {
    await waitFor('the thread to lead', async () => t.status().role === 'leader' && t.status().mode === 'wal');
    await fx.pool.query(`INSERT INTO projects (name) SELECT 'before the crash ' || g FROM generate_series(1, 10) g`);
    const before = await waitForAllStamped(fx.pool);
    await waitFor('the rows to cross', async () => seqs.at(-1) === before);

    await fx.pool.query(`NOTIFY test_crash`);
    await waitFor('the crash to be logged', async () => lines().includes('the replicator thread crashed'));
    const entry = JSON.parse(lines().split('\n').find((l) => l.includes('the replicator thread crashed'))!);
    expect(entry).toMatchObject({ level: 50, component: 'replicator', attempt: 0, restartInMs: 300, err: { message: 'injected failure in the replicator thread' } });
    expect(['starting', 'leader']).toContain(t.status().role);
    expect((await replicatorErrors.get()).values.find((v) => v.labels.component === 'replicator_thread')?.value).toBe(errorsBefore + 1);

    // The dead worker's connections closed with it, so Postgres freed the lock for the next one.
    await waitFor('the new worker to lead', async () => t.status().role === 'leader' && t.status().mode === 'wal', 15_000);
    await fx.pool.query(`INSERT INTO projects (name) SELECT 'after the crash ' || g FROM generate_series(1, 10) g`);
    const after = await waitForAllStamped(fx.pool);
    await expectDense(fx.pool);
    await waitFor('the new worker\'s rows to cross', async () => seqs.at(-1) === after);
    expect(seqs.slice(seqs.indexOf(before + 1))).toEqual(Array.from({ length: after - before }, (_, i) => before + 1 + i));
  } finally {
    await t.stop();
  }
});

test('a worker that cannot start makes start() fail, naming why', async () => {
  const { log } = capturingLog();
  const t = thread({ log }, { entry: new URL('./fixtures/broken-worker.ts', import.meta.url) });
  await expect(t.start()).rejects.toThrow(/the replicator thread ended before its replicator started \(exit code 1: this worker cannot start\)/);
  await t.stop();
});
