// A stream that breaks while batches numbered early wait for their stamp, and the leader
// falls back to NOTIFY mode, which numbers in id order: the waiting stamps must still
// land as numbered, before the fallback's scan, or the scan would give the changes the
// listeners already have other seqs.
import { afterEach, beforeEach, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import type { Replicator } from '../src/replicator';
import type { StampedChange } from '../src/sequencer/stamp';
import { expectDense, inProcess, waitFor, waitForMode } from './helpers';

const HOLD = 4343;
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
  await pool.query(`CREATE FUNCTION test_hold_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_advisory_xact_lock(${HOLD}); RETURN NEW; END $$`);
  await pool.query(`CREATE TRIGGER test_hold_stamp BEFORE UPDATE OF seq ON change_outbox FOR EACH ROW EXECUTE FUNCTION test_hold_stamp()`);
  const holder = await pool.connect();
  await holder.query('SELECT pg_advisory_lock($1)', [HOLD]);

  // The first batch's stamp blocks; the next two transactions queue behind it. B2
  // commits before B1 though B1 inserted first: commit order and id order differ.
  await pool.query(`INSERT INTO projects (name) VALUES ('a')`);
  await waitFor('the first change to go out', async () => delivered.length === 1);
  const b1 = await pool.connect();
  const b2 = await pool.connect();
  await b1.query('BEGIN');
  await b1.query(`INSERT INTO projects (name) SELECT 'b1-' || g FROM generate_series(1, 3) g`);
  await b2.query(`INSERT INTO projects (name) SELECT 'b2-' || g FROM generate_series(1, 3) g`);
  await b1.query('COMMIT');
  b1.release();
  b2.release();
  await waitFor('all seven changes to go out numbered', async () => delivered.length === 7);
  expect(delivered.map((c) => String(c.newRow?.name))).toEqual(['a', 'b2-1', 'b2-2', 'b2-3', 'b1-1', 'b1-2', 'b1-3']);
  expect((await pool.query(`SELECT count(seq)::int AS n FROM change_outbox`)).rows[0].n, 'a stamp landed before the test let it').toBe(0);

  // The stream breaks; with one failure allowed, the leader falls back to NOTIFY mode.
  await pool.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL`);
  // Long enough for the break to be noticed; the stamps still wait for the lock.
  await new Promise((r) => setTimeout(r, 500));
  await holder.query('SELECT pg_advisory_unlock($1)', [HOLD]);
  holder.release();
  await waitForMode(pool, 'notify');
  await waitFor('every change stamped', async () => (await pool.query(`SELECT count(*) FILTER (WHERE seq IS NULL)::int AS n FROM change_outbox`)).rows[0].n === 0);
  await expectDense(pool);

  const { rows } = await pool.query(`SELECT seq::int AS seq, new_row ->> 'name' AS name FROM change_outbox ORDER BY seq`);
  expect(rows.map((r) => [r.seq, r.name])).toEqual(delivered.map((c) => [c.seq, String(c.newRow?.name)]));
  expect(delivered.length, 'the scan handed on changes that had gone out already').toBe(7);
}, 60_000);
