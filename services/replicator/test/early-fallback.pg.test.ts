// A stream that breaks while batches numbered early wait for their stamp, and the leader
// falls back to NOTIFY mode, which numbers in id order: the waiting stamps must still
// land as numbered, before the fallback's scan, or the scan would give the changes the
// listeners already have other seqs.
import { afterEach, beforeEach, expect, test } from 'vitest';
import pg from 'pg';
import { commitOutOfIdOrder, createTestDatabase, holdStamps, type TestDatabase } from '@realtime/db/testing';
import type { Replicator } from '../src/replicator';
import type { StampedChange } from '../src/sequencer/stamp';
import { expectDense, inProcess, waitFor, waitForMode } from './helpers';

let db: TestDatabase;
let pool: pg.Pool;
let replicator: Replicator | null = null;

beforeEach(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  pool.on('error', () => undefined);
});
afterEach(async () => {
  await replicator?.stop();
  replicator = null;
  await pool.end();
  await db.drop();
});

test('batches numbered early and queued for their stamp are stamped as numbered when the stream breaks into NOTIFY mode', async () => {
  replicator = inProcess(db.url, { lingerMs: 0, maxStreamFailures: 1 });
  const delivered: StampedChange[] = [];
  replicator.onStamped((changes) => delivered.push(...changes));
  await replicator.start();
  await waitForMode(pool, 'wal');

  // Stamps wait on a lock the test holds.
  const hold = await holdStamps(pool);

  // The first batch's stamp blocks; the next two transactions queue behind it. B2
  // commits before B1 though B1 inserted first: commit order and id order differ.
  await pool.query(`INSERT INTO projects (name) VALUES ('a')`);
  await waitFor('the first change to go out', async () => delivered.length === 1);
  await commitOutOfIdOrder(pool, 3, 'b1-', 'b2-');
  await waitFor('all seven changes to go out numbered', async () => delivered.length === 7);
  expect(delivered.map((c) => String(c.newRow?.name))).toEqual(['a', 'b2-1', 'b2-2', 'b2-3', 'b1-1', 'b1-2', 'b1-3']);
  expect((await pool.query(`SELECT count(seq)::int AS n FROM change_outbox`)).rows[0].n, 'a stamp landed before the test let it').toBe(0);

  // The stream breaks; with one failure allowed, the leader falls back to NOTIFY mode.
  await pool.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL`);
  // Long enough for the break to be noticed; the stamps still wait for the lock.
  await new Promise((r) => setTimeout(r, 500));
  await hold.release();
  await waitForMode(pool, 'notify');
  await waitFor('every change stamped', async () => (await pool.query(`SELECT count(*) FILTER (WHERE seq IS NULL)::int AS n FROM change_outbox`)).rows[0].n === 0);
  await expectDense(pool);

  const { rows } = await pool.query(`SELECT seq::int AS seq, new_row ->> 'name' AS name FROM change_outbox ORDER BY seq`);
  expect(rows.map((r) => [r.seq, r.name])).toEqual(delivered.map((c) => [c.seq, String(c.newRow?.name)]));
  expect(delivered.length, 'the scan handed on changes that had gone out already').toBe(7);
}, 60_000);
