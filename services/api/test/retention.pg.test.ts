// Retention on its own: changes committed before the cutoff go, as a seq prefix; newer
// ones and unstamped ones stay; the floor moves. And after a prune that left nothing
// stamped but memberships, a list's cursor still starts at the head, not behind the floor.
import { expect, test } from 'vitest';
import { HEAD_SQL } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { useTestDatabase } from '@realtime/db/testing';
import { decodeCursor, signToken } from '@realtime/auth';
import { Received, connect, startGateway, waitFor } from '@realtime/gateway/test-helpers';
import { planPrune, prune } from '../src/outbox/commands';
import { startRetention } from '../src/outbox/retention';
import { secret, startApi } from './fixture';

const fx = useTestDatabase();

/** Stamps every unstamped change as a replicator would (dense, after the last seq), committed a minute ago. */
const STAMP = `UPDATE change_outbox o SET seq = s.base + s.n, committed_at = now() - interval '1 minute'
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n,
               ${HEAD_SQL} AS base
        FROM change_outbox WHERE seq IS NULL) s
  WHERE o.id = s.id`;

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

test('after a quiet week (prune --older-than 0s), a list cursor carries the head at the floor, and subscribing with it goes live without resync', async () => {
  const api = await startApi();
  try {
    const user = await api.user('quiet@example.com');
    const [p] = await api.sql<{ id: string }>(`INSERT INTO projects (name) SELECT 'q' || g FROM generate_series(1, 5) g RETURNING id`);
    // A membership (never pruned) below the last change: max(seq) is then below the floor.
    await api.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner')`, [p!.id, user.id]);
    await api.sql(`UPDATE projects SET description = 'last change before the quiet week' WHERE id = $1`, [p!.id]);
    await api.sql(STAMP);
    const plan = await planPrune(api.pool, { olderThanMs: 0 });
    expect(plan).toMatchObject({ count: 6, toSeq: 7 });
    await prune(api.pool, plan);
    const [state] = await api.sql<{ pruned: number; max: number }>(`SELECT pruned_through::int AS pruned, (SELECT max(seq)::int FROM change_outbox) AS max FROM realtime_state`);
    expect(state).toEqual({ pruned: 7, max: 6 });

    const list = await api.call('GET', '/api/projects', undefined, user);
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([p!.id]);
    expect(decodeCursor(secret, list.body.cursor).headSeq).toBe(state!.pruned);

    // The API's secret, as in one deployment: the gateway takes the cursors its lists carry.
    const gw = await startGateway(api.db.url, { jwtSecret: secret });
    try {
      const r = new Received(await connect(gw.port, signToken(secret, { channels: ['*'], projects: ['*'] })));
      expect(await r.subscribe({ channel: 'projects', cursor: list.body.cursor })).toMatchObject({ ok: true, headSeq: 7 });
      await waitFor('live or resync', () => r.lives.length > 0 || r.resyncs.length > 0);
      expect(r.resyncs).toEqual([]);
      // And it is live: the next change arrives, with the seq after the floor.
      await api.sql(`UPDATE projects SET description = 'back to work' WHERE id = $1`, [p!.id]);
      await api.sql(STAMP);
      await waitFor('the next change', () => r.changes.length > 0);
      expect(r.seqs).toEqual([8]);
      r.socket.disconnect();
    } finally {
      await gw.stop();
    }
  } finally {
    await api.close();
  }
});
