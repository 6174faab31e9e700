// A project keeps an owner however its owners' requests interleave: two owners who demote
// or remove each other (or themselves) at the same moment each see the other still an
// owner, so only the database, which puts one such change after the other, can refuse the
// second. Each round runs both requests at once through the API, twenty rounds a kind.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let ann: TestUser;
let bob: TestUser;

beforeAll(async () => {
  fx = await startApi();
  ann = await fx.user('owner-ann@example.com');
  bob = await fx.user('owner-bob@example.com');
});
afterAll(async () => {
  await fx?.close();
});

const ROUNDS = 20;

/** A project owned by Ann and Bob. */
async function twoOwners(): Promise<string> {
  const [p] = await fx.sql<{ id: string }>(`INSERT INTO projects (name) VALUES ('two owners') RETURNING id`);
  await fx.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner'), ($1, $3, 'owner')`, [p!.id, ann.id, bob.id]);
  return p!.id;
}

type Move = (project: string, by: TestUser, target: TestUser) => ReturnType<ApiFixture['call']>;
const demote: Move = (p, by, target) => fx.call('PATCH', `/api/projects/${p}/members/${target.id}`, { role: 'editor' }, by);
const remove: Move = (p, by, target) => fx.call('DELETE', `/api/projects/${p}/members/${target.id}`, undefined, by);

describe('concurrent owner changes always leave an owner', () => {
  test.each([
    ['each demotes the other', demote, demote, false],
    ['each removes the other', remove, remove, false],
    ['one demotes the other, who removes the first', demote, remove, false],
    ['each demotes themselves', demote, demote, true],
    ['each leaves', remove, remove, true],
  ] as const)('%s', async (_name, first, second, self) => {
    for (let round = 0; round < ROUNDS; round++) {
      const p = await twoOwners();
      const [a, b] = await Promise.all([first(p, ann, self ? ann : bob), second(p, bob, self ? bob : ann)]);
      const statuses = [a.status, b.status];
      // Exactly one goes through. The other is refused as the last owner's change (409)
      // when both ran at once, or, when the first had committed before the second began,
      // as a change by someone no longer an owner (403) or no longer a member (404).
      expect(statuses.filter((s) => s === 200 || s === 204), `round ${round}: ${statuses.join(', ')}`).toHaveLength(1);
      const refused = [a, b].find((r) => r.status !== 200 && r.status !== 204)!;
      expect([403, 404, 409], `round ${round}: ${statuses.join(', ')}`).toContain(refused.status);
      if (refused.status === 409) expect(refused.body.error.message).toMatch(/at least one owner/);
      const [owners] = await fx.sql<{ n: number }>(`SELECT count(*)::int AS n FROM project_members WHERE project_id = $1 AND role = 'owner'`, [p]);
      expect(owners!.n, `round ${round}`).toBe(1);
    }
  }, 60_000);
});

test('two transactions as the owners, interleaved by hand: the second waits for the first, then is refused', async () => {
  const p = await twoOwners();
  const begin = async (u: TestUser) => {
    const c = await fx.pool.connect();
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE realtime_api');
    await c.query(`SELECT set_config('app.user_id', $1, true)`, [u.id]);
    return c;
  };
  const first = await begin(ann);
  const second = await begin(bob);
  try {
    await first.query(`UPDATE project_members SET role = 'viewer' WHERE project_id = $1 AND user_id = $2`, [p, bob.id]);
    // Bob's demotion of Ann waits for the project's lock that Ann's transaction holds.
    const pid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const pending = second.query(`UPDATE project_members SET role = 'viewer' WHERE project_id = $1 AND user_id = $2`, [p, ann.id]);
    pending.catch(() => undefined);
    await expect.poll(async () => (await fx.sql(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [pid]))[0]?.wait_event_type, { timeout: 10_000 }).toBe('Lock');
    await first.query('COMMIT');
    await expect(pending).rejects.toMatchObject({ code: '23000', constraint: 'project_members_last_owner' });
  } finally {
    await second.query('ROLLBACK').catch(() => undefined);
    first.release();
    second.release();
  }
  const owners = await fx.sql(`SELECT user_id FROM project_members WHERE project_id = $1 AND role = 'owner'`, [p]);
  expect(owners).toEqual([{ user_id: ann.id }]);
});
