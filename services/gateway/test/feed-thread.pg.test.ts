// npm start's wiring: the replicator in a worker thread, the feed in this one. Every change
// of 5,000 from concurrent writers reaches the feed's listeners once, in seq order, and
// every stamped row comes across the thread boundary, in the same order.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { createLogger } from '@realtime/runtime';
import { ReplicatorThread } from '@realtime/replicator';
import { waitFor } from '@realtime/testkit';
import { Feed } from '../src/feed';

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { service: 'test' });
let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 10 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});


test('5,000 changes from 8 writers reach the feed once each, in seq order, from the replicator thread', async () => {
  const replicator = new ReplicatorThread({ directUrl: db.url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 2000, lingerMs: 2, safetyPollMs: 200, walRetryMs: 1000, log });
  const feedPool = new pg.Pool({ connectionString: db.url, max: 2 });
  const feed = new Feed({ pool: feedPool, directUrl: db.url, log, replicator, pollMs: 200 });
  const seqs: number[] = [];
  feed.onChanges((batch) => seqs.push(...batch.map((c) => c.seq)));
  // What crossed the thread boundary (the feed also reads the outbox after each NOTIFY,
  // and takes whichever comes first: the order and the count are the feed's to keep).
  const crossed: number[] = [];
  replicator.onStamped((changes) => crossed.push(...changes.map((c) => c.seq)));
  await feed.start();
  await replicator.start();
  try {
    await waitFor('the thread to lead in WAL mode', () => replicator.status().role === 'leader' && replicator.status().mode === 'wal', 60_000);
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('feed over a thread') RETURNING id`);
    const project = rows[0]!.id;
    let left = 4999;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        const client = await pool.connect();
        try {
          while (left > 0) {
            const n = Math.min(5, left);
            left -= n;
            await client.query('BEGIN');
            for (let i = 0; i < n; i++) await client.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [project, `w${w}-${i}.pdf`]);
            await client.query('COMMIT');
          }
        } finally {
          client.release();
        }
      }),
    );
    await waitFor('every change to reach the feed', () => seqs.length >= 5000, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(seqs).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    expect(crossed).toEqual(seqs);
    expect(replicator.status().headSeq).toBe(5000);
  } finally {
    await replicator.stop();
    await feed.stop();
    await feedPool.end();
  }
});
