// Retention on its own: changes committed before the cutoff go, as a seq prefix; newer
// ones and unstamped ones stay; the floor moves.
import { expect, test } from 'vitest';
import { createLogger } from '@realtime/db';
import { useTestDatabase } from '@realtime/db/testing';
import { startRetention } from '../src/outbox/retention';

const fx = useTestDatabase();

test('keeps what is newer than the retention and everything unstamped', async () => {
  await fx.pool.query(`INSERT INTO projects (name) SELECT 'p' || g FROM generate_series(1, 10) g`);
  // Stamp them as a replicator would, the first six committed 40 days ago.
  await fx.pool.query(`UPDATE change_outbox SET seq = id, committed_at = CASE WHEN id <= 6 THEN now() - interval '40 days' ELSE now() END`);
  await fx.pool.query(`INSERT INTO projects (name) VALUES ('unstamped')`);
  const retention = startRetention(fx.pool, { keepMs: 30 * 86_400_000, everyMs: 3_600_000, log: createLogger('silent') });
  try {
    expect(await retention.runOnce()).toBe(6);
    expect(await retention.runOnce()).toBe(0);
  } finally {
    await retention.stop();
  }
  const { rows } = await fx.pool.query(`SELECT min(seq)::int AS lo, max(seq)::int AS hi, count(*) FILTER (WHERE seq IS NULL)::int AS u FROM change_outbox`);
  expect(rows[0]).toEqual({ lo: 7, hi: 10, u: 1 });
  const { rows: floor } = await fx.pool.query(`SELECT retention_floor::int AS f FROM realtime_status`);
  expect(floor[0].f).toBe(6);
});
