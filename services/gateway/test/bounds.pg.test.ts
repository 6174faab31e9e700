// The head a list's cursor carries is the head replay reads (readBounds), before and
// after retention: a cursor from a list read after a prune that left only memberships
// must not fall below the floor, or every subscribe with it resyncs.
import { expect, test } from 'vitest';
import { HEAD_SQL } from '@realtime/db';
import { useTestDatabase } from '@realtime/db/testing';
import { decodeCursor, readCursor } from '@realtime/auth';
import { readBounds, readBoundsReaching } from '../src/replay/reader';
import { secret } from './helpers';

const fx = useTestDatabase();

async function stamp(): Promise<void> {
  await fx.pool.query(
    `UPDATE change_outbox o SET seq = s.base + s.n, committed_at = now()
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, ${HEAD_SQL} AS base FROM change_outbox WHERE seq IS NULL) s
     WHERE o.id = s.id`,
  );
}

async function cursorHead(): Promise<number> {
  const c = await fx.pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const cursor = await readCursor(secret, c);
    await c.query('COMMIT');
    return decodeCursor(secret, cursor).headSeq;
  } finally {
    c.release();
  }
}

test('readCursor and readBounds agree on the head: empty, written, pruned to the memberships, pruned to nothing', async () => {
  expect(await readBounds(fx.pool)).toEqual({ head: 0, floor: 0 });
  expect(await cursorHead()).toBe(0);

  const { rows } = await fx.pool.query(`INSERT INTO projects (name) SELECT 'p' || g FROM generate_series(1, 4) g RETURNING id`);
  const { rows: users } = await fx.pool.query(`INSERT INTO users (email, name) VALUES ('m@example.com', 'm') RETURNING id`);
  await fx.pool.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'viewer')`, [rows[0].id, users[0].id]);
  await fx.pool.query(`UPDATE projects SET description = 'x' WHERE id = $1`, [rows[1].id]);
  await stamp();
  expect(await readBounds(fx.pool)).toEqual({ head: 6, floor: 0 });
  expect(await cursorHead()).toBe(6);

  // Retention as prune does it: the floor first, then every stamped change but memberships.
  await fx.pool.query(`UPDATE realtime_state SET pruned_through = 6 WHERE id = 1`);
  await fx.pool.query(`DELETE FROM change_outbox WHERE seq <= 6 AND table_name <> 'project_members'`);
  const { rows: left } = await fx.pool.query(`SELECT max(seq)::int AS max FROM change_outbox`);
  expect(left[0].max).toBe(5);
  expect(await readBounds(fx.pool)).toEqual({ head: 6, floor: 6 });
  expect(await cursorHead()).toBe(6);

  await fx.pool.query(`DELETE FROM change_outbox`);
  expect(await readBounds(fx.pool)).toEqual({ head: 6, floor: 6 });
  expect(await cursorHead()).toBe(6);
});

test('readBoundsReaching waits for a head the feed already passed, and gives up after its bound', async () => {
  const start = (await readBounds(fx.pool)).head;
  await fx.pool.query(`INSERT INTO projects (name) VALUES ('late stamp 1'), ('late stamp 2')`);
  const t0 = Date.now();
  const stamping = new Promise<void>((resolve, reject) => setTimeout(() => stamp().then(resolve, reject), 150));
  const reached = await readBoundsReaching(fx.pool, start + 2, 5000, () => false);
  await stamping;
  expect(reached.head).toBe(start + 2);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

  const t1 = Date.now();
  const short = await readBoundsReaching(fx.pool, start + 50, 200, () => false);
  expect(short.head, 'a head that never comes: the bounds as they are').toBe(start + 2);
  expect(Date.now() - t1).toBeGreaterThanOrEqual(200);
  expect(Date.now() - t1).toBeLessThan(2000);

  const t2 = Date.now();
  await readBoundsReaching(fx.pool, start + 50, 5000, () => true);
  expect(Date.now() - t2, 'a subscription closed meanwhile stops the wait').toBeLessThan(1000);
});
