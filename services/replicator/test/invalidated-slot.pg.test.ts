// A slot that falls behind max_slot_wal_keep_size is invalidated by Postgres. The
// replicator must notice, fall back to the outbox scan (nothing is lost: the outbox is
// the log), make a new slot and go back to WAL, with every change stamped once.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { migratedDatabase, startTestCluster, type TestCluster } from '@realtime/db/testing';
import { expectDense, inProcess, stateOf, waitFor, waitForAllStamped, waitForMode } from './helpers';

let cluster: TestCluster;
let url: string;
let pool: pg.Pool;

beforeAll(async () => {
  // A tiny WAL allowance for slots, and small segments so that it is passed quickly.
  cluster = await startTestCluster({ settings: { max_slot_wal_keep_size: '1MB', wal_keep_size: 0, max_wal_size: '32MB', min_wal_size: '32MB' } });
  url = await migratedDatabase(cluster);
  pool = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await cluster?.stop();
});

test('an invalidated slot is detected, the outbox scan covers, a new slot is made, every change stamped once', async () => {
  let replicator = inProcess(url, { walRetryMs: 500 });
  await replicator.start();
  await waitForMode(pool, 'wal');
  await pool.query(`INSERT INTO projects (name) SELECT 'before ' || g FROM generate_series(1, 100) g`);
  await waitForAllStamped(pool);
  // The replicator goes away; its slot stays and writes pile up WAL behind it.
  await replicator.stop();
  for (let i = 0; i < 6; i++) {
    await pool.query(`INSERT INTO projects (name, description) SELECT 'while down ' || g, repeat('x', 2000) FROM generate_series(1, 2000) g`);
    await pool.query('SELECT pg_switch_wal()');
    await pool.query('CHECKPOINT');
  }
  const lost = await waitFor('the slot to be invalidated', async () => {
    await pool.query('CHECKPOINT');
    const { rows } = await pool.query(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'realtime_outbox'`);
    return rows[0]?.wal_status === 'lost' ? rows[0].wal_status : null;
  }, 60_000, 500);
  expect(lost).toBe('lost');

  replicator = inProcess(url, { walRetryMs: 500 });
  await replicator.start();
  await waitForMode(pool, 'wal', 60_000);
  // It got there through the lost slot: noticed, fell back, made a new one.
  expect(replicator.status().lastError).toMatch(/replication slot "realtime_outbox" was invalidated/);
  expect((await stateOf(pool)).notify_enabled).toBe(false);
  await pool.query(`INSERT INTO projects (name) SELECT 'after ' || g FROM generate_series(1, 100) g`);
  await waitForAllStamped(pool);
  expect(await expectDense(pool)).toBe(100 + 6 * 2000 + 100);
  const { rows } = await pool.query(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'realtime_outbox'`);
  expect(rows[0].wal_status).not.toBe('lost');
  await replicator.stop();
}, 180_000);
