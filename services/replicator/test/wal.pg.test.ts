// WAL mode on a real Postgres with wal_level=logical: seqs follow commit order, stay
// dense under concurrent writers, and the mode and flag are what operators expect.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { fingerprintInputSql } from '@realtime/db';
import type { Replicator } from '../src/replicator';
import { toStampedChange, type StampedChange } from '../src/sequencer/stamp';
import * as metrics from '../src/metrics';
import { expectDense, inProcess, stateOf, waitFor, waitForAllStamped, waitForMode, writeLoad } from './helpers';

let db: TestDatabase;
let pool: pg.Pool;
let replicator: Replicator | null = null;

beforeEach(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
});
afterEach(async () => {
  await replicator?.stop();
  replicator = null;
  await pool.end();
  await db.drop();
});

describe('WAL mode', () => {
  test('commit order, not id order: B inserts later but commits first and gets the lower seqs', async () => {
    replicator = inProcess(db.url);
    await replicator.start();
    await waitForMode(pool, 'wal');
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      const { rows: ar } = await a.query(`INSERT INTO projects (name) SELECT 'A' || g FROM generate_series(1, 3) g RETURNING id`);
      await b.query('BEGIN');
      const { rows: br } = await b.query(`INSERT INTO projects (name) SELECT 'B' || g FROM generate_series(1, 3) g RETURNING id`);
      await b.query('COMMIT');
      await a.query('COMMIT');
      await waitForAllStamped(pool);
      const seqOf = async (ids: string[]) =>
        (await pool.query(`SELECT seq::int FROM change_outbox WHERE row_id = ANY($1) ORDER BY id`, [ids])).rows.map((r) => r.seq as number);
      const idsOf = async (ids: string[]) =>
        (await pool.query(`SELECT id::int FROM change_outbox WHERE row_id = ANY($1) ORDER BY id`, [ids])).rows.map((r) => r.id as number);
      const [aSeqs, bSeqs] = [await seqOf(ar.map((r) => r.id)), await seqOf(br.map((r) => r.id))];
      const [aIds, bIds] = [await idsOf(ar.map((r) => r.id)), await idsOf(br.map((r) => r.id))];
      // A's outbox rows were written first (lower ids) ...
      expect(Math.max(...aIds)).toBeLessThan(Math.min(...bIds));
      // ... but B committed first, so B's rows come first in the stream.
      expect(Math.max(...bSeqs)).toBeLessThan(Math.min(...aSeqs));
      expect(bSeqs).toEqual([bSeqs[0], bSeqs[0]! + 1, bSeqs[0]! + 2]);
      expect(aSeqs).toEqual([bSeqs[2]! + 1, bSeqs[2]! + 2, bSeqs[2]! + 3]);
    } finally {
      a.release();
      b.release();
    }
    await expectDense(pool);
  });

  test('changes go out numbered from the WAL before their stamp, exactly as the stamp numbers them; split transactions wait for the database', async () => {
    replicator = inProcess(db.url, { batchSize: 50, lingerMs: 0 });
    const delivered: StampedChange[] = [];
    replicator.onStamped((changes) => delivered.push(...changes));
    const early = async () => (await metrics.earlyTotal.get()).values[0]?.value ?? 0;
    const earlyBefore = await early();
    await replicator.start();
    await waitForMode(pool, 'wal');
    // Small transactions from three writers around two of 120 rows (split into pieces of 50).
    await Promise.all([
      writeLoad(db.url, { writers: 3, total: 600, txSize: 3 }),
      (async () => {
        for (let i = 0; i < 2; i++) {
          await new Promise((r) => setTimeout(r, 30));
          await pool.query(`INSERT INTO projects (name) SELECT 'big' || g FROM generate_series(1, 120) g`);
        }
      })(),
    ]);
    const n = await waitForAllStamped(pool, 60_000);
    await expectDense(pool);
    const { rows } = await pool.query(
      // With the fingerprint's input: what went out early must carry the stamped row's fingerprint.
      `SELECT id, seq, table_name, op, row_id, new_row, old_row, txid::text AS txid, actor, committed_at, row_bytes, ${fingerprintInputSql()} AS fp_input FROM change_outbox ORDER BY seq`,
    );
    const stamped = rows.map(toStampedChange);
    expect(delivered.length).toBe(n);
    expect(delivered).toEqual(stamped);
    const numberedEarly = (await early()) - earlyBefore;
    expect(numberedEarly, 'no change went out before its stamp').toBeGreaterThan(0);
    expect(numberedEarly, 'split transactions must be numbered by the database').toBeLessThanOrEqual(n - 240);
  });

  test('dense and exactly once: 20,000 changes from 8 concurrent writers are stamped 1..N', async () => {
    replicator = inProcess(db.url);
    const delivered: StampedChange[] = [];
    replicator.onStamped((changes) => delivered.push(...changes));
    await replicator.start();
    await waitForMode(pool, 'wal');
    const written = await writeLoad(db.url, { writers: 8, total: 20_000 });
    expect(written).toBeGreaterThanOrEqual(20_000);
    await waitForAllStamped(pool, 90_000);
    const n = await expectDense(pool);
    const { rows } = await pool.query(`SELECT count(*)::int AS seeded FROM change_outbox WHERE seq <= 0`);
    expect(rows[0].seeded).toBe(0);
    // In-process delivery saw every row once, in seq order.
    expect(delivered.map((c) => c.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(replicator.status().headSeq).toBe(n);
  });

  test('in WAL mode the NOTIFY flag is off and the slot is acknowledged past stamped rows', async () => {
    await pool.query(`UPDATE realtime_state SET notify_enabled = true`);
    replicator = inProcess(db.url);
    await replicator.start();
    await waitForMode(pool, 'wal');
    const { rows: before } = await pool.query(`SELECT pg_current_wal_lsn()::text AS lsn`);
    await pool.query(`INSERT INTO projects (name) VALUES ('one'), ('two')`);
    await waitForAllStamped(pool);
    const state = await stateOf(pool);
    expect(state.notify_enabled).toBe(false);
    expect(state.leader).toBe(replicator.identity);
    // Stamping is followed by an acknowledgement: the slot's confirmed position moves
    // past the start of the insert's transaction.
    await waitFor('the slot to confirm the insert', async () => {
      const { rows } = await pool.query(
        `SELECT pg_wal_lsn_diff(confirmed_flush_lsn, $1::pg_lsn) > 0 AS past FROM pg_replication_slots WHERE slot_name = 'realtime_outbox'`,
        [before[0].lsn],
      );
      return rows[0]?.past === true;
    });
    expect(replicator.status().ackedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  test('rows written before the replicator ever ran are stamped by the first scan, then the stream takes over', async () => {
    await pool.query(`INSERT INTO projects (name) SELECT 'early' || g FROM generate_series(1, 50) g`);
    replicator = inProcess(db.url);
    await replicator.start();
    await waitForMode(pool, 'wal');
    await pool.query(`INSERT INTO projects (name) SELECT 'late' || g FROM generate_series(1, 50) g`);
    await waitForAllStamped(pool);
    expect(await expectDense(pool)).toBe(100);
    const { rows } = await pool.query(`SELECT min(seq)::int AS lo, max(seq)::int AS hi FROM change_outbox WHERE new_row->>'name' LIKE 'late%'`);
    expect(rows[0]).toEqual({ lo: 51, hi: 100 });
  });

  test('SIGTERM-style stop finishes the batch in hand, steps down and releases the lock', async () => {
    replicator = inProcess(db.url, { lingerMs: 1000 });
    await replicator.start();
    await waitForMode(pool, 'wal');
    await pool.query(`INSERT INTO projects (name) SELECT 'tail' || g FROM generate_series(1, 10) g`);
    // The linger holds the batch back; stopping now must still stamp it.
    await new Promise((r) => setTimeout(r, 300));
    await replicator.stop();
    replicator = null;
    expect(await expectDense(pool)).toBe(10);
    const state = await stateOf(pool);
    expect(state).toMatchObject({ mode: 'down', leader: null, notify_enabled: false });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`);
    expect(rows[0].n).toBe(0);
  });
});
