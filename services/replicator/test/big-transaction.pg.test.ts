// A transaction of 1,000,000 changes streams through a real replicator process in
// bounded memory: pieces are stamped as they arrive, the commit is acknowledged once.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { expectDense, useDatabase, waitForAllStamped, waitForMode } from './helpers';

const fx = useDatabase();

/** Peak resident memory of a process, in MB (VmHWM: the high-water mark, not a sample). */
function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  if (!line) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(line.replace(/\D+/g, '')) / 1024;
}

test('a 1,000,000-row transaction is stamped 1..N with the replicator under 300 MB', async () => {
  const child = fx.spawn({ STAMP_BATCH_SIZE: '5000' });
  await waitForMode(fx.pool, 'wal');
  await fx.pool.query(`INSERT INTO projects (name) SELECT 'bulk ' || g FROM generate_series(1, 1000000) g`);
  await waitForAllStamped(fx.pool, 240_000);
  expect(await expectDense(fx.pool)).toBe(1_000_000);
  const peak = peakRssMb(child.proc.pid!);
  process.stdout.write(`replicator peak RSS for a 1,000,000-row transaction: ${peak.toFixed(0)} MB\n`);
  expect(peak).toBeLessThan(300);
  // One transaction, one commit time for all its rows.
  const { rows } = await fx.pool.query(`SELECT count(DISTINCT committed_at)::int AS n FROM change_outbox`);
  expect(rows[0].n).toBe(1);
}, 400_000);
