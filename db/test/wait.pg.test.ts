// A process started while its Postgres is down (a crash being recovered) waits for it
// and migrates, instead of exiting; a failure time cannot cure is not waited out.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '@realtime/runtime';
import { ensureDatabase } from '../src/embedded/cluster';
import { runMigrations } from '../src/migrate';
import { startTestCluster, type TestCluster } from './harness';

let cluster: TestCluster;
const log = createLogger('silent');

beforeAll(async () => {
  cluster = await startTestCluster();
  await ensureDatabase(cluster.url(), 'app');
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

test('migrations wait for a Postgres that is down and go on once it recovers', async () => {
  await cluster.crash();
  const started = Date.now();
  const migrating = runMigrations(cluster.url('app'), log, { waitMs: 60_000 });
  let settled = false;
  void migrating.finally(() => (settled = true)).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1500));
  expect(settled).toBe(false);
  await cluster.restart();
  const result = await migrating;
  expect(result.total).toBeGreaterThan(0);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
}, 120_000);

test('Postgres crashing during the migration: it waits, connects again and migrates (nothing half-applied, no crash of the process)', async () => {
  // Another migrator holds the lock, so this one is mid-way (connected, waiting) when Postgres goes.
  const holder = new pg.Client({ connectionString: cluster.url('app') });
  holder.on('error', () => undefined);
  await holder.connect();
  await holder.query('select pg_advisory_lock($1)', [0x72746d67]);
  const migrating = runMigrations(cluster.url('app'), log, { waitMs: 60_000 });
  void migrating.catch(() => undefined);
  const watcher = new pg.Client({ connectionString: cluster.url('app') });
  await watcher.connect();
  for (let i = 0; ; i++) {
    const { rows } = await watcher.query(`select count(*)::int as n from pg_stat_activity where application_name = 'realtime-migrate' and wait_event_type = 'Lock'`);
    if (rows[0].n > 0) break;
    if (i > 200) throw new Error('the migration never waited for the lock');
    await new Promise((r) => setTimeout(r, 50));
  }
  await watcher.end();
  await cluster.crash();
  await cluster.restart();
  const result = await migrating;
  expect(result.total).toBeGreaterThan(0);
  await holder.end().catch(() => undefined);
}, 120_000);

test('a wrong database name fails at once, with the URL named', async () => {
  const started = Date.now();
  await expect(runMigrations(cluster.url('no_such_db'), log, { waitMs: 60_000 })).rejects.toThrow(/Cannot connect to .*no_such_db/);
  expect(Date.now() - started).toBeLessThan(30_000);
});

test('with no wait allowed, a server that is down fails at once', async () => {
  await cluster.crash();
  await expect(runMigrations(cluster.url('app'), log, { waitMs: 0 })).rejects.toThrow(/Cannot connect to/);
  await cluster.restart();
}, 120_000);
