// A transaction of 1,000,000 changes streams through a real replicator process in
// bounded memory: pieces are stamped as they arrive, the commit is acknowledged once.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { expectDense, spawnReplicator, waitForAllStamped, waitForMode, type Child } from './helpers';

let db: TestDatabase;
let pool: pg.Pool;
let child: Child | null = null;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  child?.proc.kill('SIGKILL');
  await pool.end();
  await db.drop();
});

/** Peak resident memory of a process, in MB (VmHWM: the high-water mark, not a sample). */
function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  if (!line) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(line.replace(/\D+/g, '')) / 1024;
}

test('a 1,000,000-row transaction is stamped 1..N with the replicator under 300 MB', async () => {
  child = spawnReplicator(db.url, { STAMP_BATCH_SIZE: '5000' });
  await waitForMode(pool, 'wal');
  await pool.query(`INSERT INTO projects (name) SELECT 'bulk ' || g FROM generate_series(1, 1000000) g`);
  await waitForAllStamped(pool, 240_000);
  expect(await expectDense(pool)).toBe(1_000_000);
  const peak = peakRssMb(child.proc.pid!);
  process.stdout.write(`replicator peak RSS for a 1,000,000-row transaction: ${peak.toFixed(0)} MB\n`);
  expect(peak).toBeLessThan(300);
  // One transaction, one commit time for all its rows.
  const { rows } = await pool.query(`SELECT count(DISTINCT committed_at)::int AS n FROM change_outbox`);
  expect(rows[0].n).toBe(1);
}, 400_000);
