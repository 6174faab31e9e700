// The access policy in the database itself, as the API's role realtime_api sees it: its
// writes are captured (the trigger runs as its owner) with the user as actor, yet it can
// neither read nor forge nor rewrite the outbox, escape row-level security, switch
// triggers off with session_replication_role, or read password hashes and sessions.
import { beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import { useTestDatabase } from './harness';

const fx = useTestDatabase();
const ids = { alice: '', bob: '', A: '', B: '' };

/** Runs `fn` in a transaction as realtime_api for `userId`, always rolled back. */
async function asApi<T>(userId: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await fx.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE realtime_api');
    await c.query(`SELECT set_config('app.user_id', $1, true), set_config('app.actor', 'alice@example.com', true)`, [userId]);
    return await fn(c);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    c.release();
  }
}

beforeAll(async () => {
  const q = (text: string, params: unknown[] = []) => fx.pool.query(text, params).then((r) => r.rows[0]?.id as string);
  ids.alice = await q(`INSERT INTO users (email, password_hash) VALUES ('alice@example.com', 'x') RETURNING id`);
  ids.bob = await q(`INSERT INTO users (email) VALUES ('bob@example.com') RETURNING id`);
  ids.A = await q(`INSERT INTO projects (name) VALUES ('A') RETURNING id`);
  ids.B = await q(`INSERT INTO projects (name) VALUES ('B') RETURNING id`);
  await fx.pool.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'editor'), ($3, $4, 'owner')`, [ids.A, ids.alice, ids.B, ids.bob]);
  await fx.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'a.pdf'), ($2, 'b.pdf')`, [ids.A, ids.B]);
});

describe('realtime_api', () => {
  test('its writes are captured with the user as the actor', async () => {
    const outbox = await asApi(ids.alice, async (c) => {
      const { rows } = await c.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'c.pdf') RETURNING id`, [ids.A]);
      await c.query('RESET ROLE'); // back to the owner, inside the same transaction, to look
      return (await c.query(`SELECT actor, actor_id, db_user FROM change_outbox WHERE row_id = $1`, [rows[0]!.id])).rows;
    });
    expect(outbox).toEqual([{ actor: 'alice@example.com', actor_id: ids.alice, db_user: 'realtime_api' }]);
  });

  test('reads only its projects\' rows', async () => {
    const seen = await asApi(ids.alice, async (c) => ({
      projects: (await c.query(`SELECT id FROM projects`)).rows.map((r) => r.id),
      jobs: (await c.query(`SELECT project_id FROM extraction_jobs`)).rows.map((r) => r.project_id),
      members: (await c.query(`SELECT project_id FROM project_members`)).rows.map((r) => r.project_id),
    }));
    expect(seen.projects).toEqual([ids.A]);
    expect(new Set(seen.jobs)).toEqual(new Set([ids.A]));
    expect(new Set(seen.members)).toEqual(new Set([ids.A]));
  });

  test('changes nothing of another project, and cannot move a row into one', async () => {
    const touched = await asApi(ids.alice, async (c) => ({
      update: (await c.query(`UPDATE extraction_jobs SET progress = 5 WHERE project_id = $1`, [ids.B])).rowCount,
      delete: (await c.query(`DELETE FROM projects WHERE id = $1`, [ids.B])).rowCount,
    }));
    expect(touched).toEqual({ update: 0, delete: 0 });
    await expect(asApi(ids.alice, (c) => c.query(`UPDATE extraction_jobs SET project_id = $1 WHERE project_id = $2`, [ids.B, ids.A]))).rejects.toThrow(/row-level security/);
    await expect(asApi(ids.alice, (c) => c.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'x')`, [ids.B]))).rejects.toThrow(/row-level security/);
  });

  test.each([
    ['read the outbox', `SELECT count(*) FROM change_outbox`, /permission denied/],
    ['insert a forged change', `INSERT INTO change_outbox (table_name, op, row_id, txid, db_user) VALUES ('projects', 'DELETE', 'x', pg_current_xact_id(), 'x')`, /permission denied/],
    ['rewrite the outbox', `UPDATE change_outbox SET actor = 'someone else'`, /permission denied/],
    ['delete from the outbox', `DELETE FROM change_outbox`, /permission denied/],
    ['switch triggers off', `SET session_replication_role = replica`, /permission denied/],
    ['switch the NOTIFY flag or the retention floor', `UPDATE realtime_state SET pruned_through = 0`, /permission denied/],
    ['read sessions', `SELECT * FROM sessions`, /permission denied/],
    ['read session ends', `SELECT * FROM session_ends`, /permission denied/],
    ['forge a session end', `INSERT INTO session_ends (id, user_id, reason) VALUES (gen_random_uuid(), gen_random_uuid(), 'signed-out')`, /permission denied/],
    ['read password hashes', `SELECT password_hash FROM users`, /permission denied/],
    ['turn row-level security off', `ALTER TABLE projects DISABLE ROW LEVEL SECURITY`, /must be owner/],
    ['truncate a table', `TRUNCATE extraction_jobs`, /permission denied/],
  ])('cannot %s', async (_what, statement, error) => {
    await expect(asApi(ids.alice, (c) => c.query(statement))).rejects.toThrow(error);
  });

  test('is no superuser and cannot bypass row-level security', async () => {
    const { rows } = await fx.pool.query(`SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'realtime_api'`);
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: false });
  });

  test('without a user, sees nothing and creates nothing', async () => {
    const seen = await asApi('', async (c) => (await c.query(`SELECT count(*)::int AS n FROM projects`)).rows[0].n);
    expect(seen).toBe(0);
    await expect(asApi('', (c) => c.query(`INSERT INTO projects (name) VALUES ('orphan')`))).rejects.toThrow(/row-level security/);
  });
});
