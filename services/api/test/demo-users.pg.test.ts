// The demo accounts on a real database: seeded once beside the demo projects, with
// memberships by project age and passwords that sign in.
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import pg from 'pg';
import { seedIfEmpty } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { verifyPassword } from '../src/auth/password';
import { seedDemoUsers } from '../src/users/demo';

const log = createLogger('silent');

async function withDatabase(fn: (pool: pg.Pool, db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    await fn(pool, db);
  } finally {
    await pool.end();
    await db.drop();
  }
}

const memberships = async (pool: pg.Pool) =>
  (
    await pool.query(`SELECT u.email, p.name AS project, m.role FROM project_members m JOIN users u ON u.id = m.user_id JOIN projects p ON p.id = m.project_id ORDER BY u.email, p.name`)
  ).rows;

describe('seedDemoUsers beside the demo projects', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await seedIfEmpty(db.url, log);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  test('three users: owner of the two oldest projects, viewer of the third, an operator; passwords verify', async () => {
    const seeded = await seedDemoUsers(pool, log);
    expect(seeded?.map((u) => [u.email, u.role])).toEqual([
      ['owner@demo.example', 'owner'],
      ['viewer@demo.example', 'viewer'],
      ['operator@demo.example', 'operator'],
    ]);

    const { rows: users } = await pool.query(`SELECT email, name, operator, password_hash FROM users ORDER BY email`);
    expect(users.map((u) => [u.email, u.name, u.operator])).toEqual([
      ['operator@demo.example', 'Opal Operator', true],
      ['owner@demo.example', 'Olivia Owner', false],
      ['viewer@demo.example', 'Victor Viewer', false],
    ]);
    for (const s of seeded!) {
      const hash = users.find((u) => u.email === s.email)!.password_hash as string;
      expect(s.password.length).toBeGreaterThanOrEqual(12);
      expect(hash).not.toContain(s.password);
      expect(await verifyPassword(hash, s.password)).toBe(true);
    }
    expect(new Set(seeded!.map((s) => s.password)).size).toBe(3);

    // The seed inserts its projects in one statement (one created_at): oldest first is then by name.
    const { rows: oldest } = await pool.query(`SELECT name FROM projects ORDER BY created_at, name, id`);
    expect(await memberships(pool)).toEqual([
      { email: 'owner@demo.example', project: oldest[0].name, role: 'owner' },
      { email: 'owner@demo.example', project: oldest[1].name, role: 'owner' },
      { email: 'viewer@demo.example', project: oldest[2].name, role: 'viewer' },
    ]);
    expect(oldest.map((p) => p.name)).toEqual(['Acme supplier onboarding', 'Harbor logistics audit', 'Northwind procurement']);

    // Streamed like any membership, and attributed to the seed.
    const { rows: changes } = await pool.query(`SELECT op, actor FROM change_outbox WHERE table_name = 'project_members'`);
    expect(changes).toHaveLength(3);
    expect(changes.every((c) => c.op === 'INSERT' && c.actor === 'seed')).toBe(true);
  });

  test('a second call finds users and changes nothing', async () => {
    const before = await pool.query(`SELECT id, password_hash FROM users ORDER BY id`);
    expect(await seedDemoUsers(pool, log)).toBeNull();
    expect((await pool.query(`SELECT id, password_hash FROM users ORDER BY id`)).rows).toEqual(before.rows);
  });
});

test('any existing user, even one made by hand, means no demo users', async () => {
  await withDatabase(async (pool) => {
    await pool.query(`INSERT INTO users (email) VALUES ('someone@example.com')`);
    expect(await seedDemoUsers(pool, log)).toBeNull();
    expect((await pool.query(`SELECT count(*)::int AS n FROM users`)).rows[0].n).toBe(1);
  });
});

test('oldest means created_at, whatever the names', async () => {
  await withDatabase(async (pool) => {
    await pool.query(`INSERT INTO projects (name, created_at) VALUES ('Alpha', now()), ('Mike', now() - interval '1 day'), ('Zulu', now() - interval '2 days'), ('Yankee', now() - interval '1 hour')`);
    await seedDemoUsers(pool, log);
    expect(await memberships(pool)).toEqual([
      { email: 'owner@demo.example', project: 'Mike', role: 'owner' },
      { email: 'owner@demo.example', project: 'Zulu', role: 'owner' },
      { email: 'viewer@demo.example', project: 'Yankee', role: 'viewer' },
    ]);
  });
});

test('fewer than three projects: what exists is granted, the rest is logged', async () => {
  await withDatabase(async (pool) => {
    await pool.query(`INSERT INTO projects (name) VALUES ('Only')`);
    const warn = vi.spyOn(log, 'warn');
    try {
      const seeded = await seedDemoUsers(pool, log);
      expect(seeded).toHaveLength(3);
      expect(await memberships(pool)).toEqual([{ email: 'owner@demo.example', project: 'Only', role: 'owner' }]);
      expect(warn).toHaveBeenCalledOnce();
      expect(warn.mock.calls[0]![0]).toMatchObject({ projects: 1, skipped: ['owner@demo.example owner of project #2', 'viewer@demo.example viewer of project #3'] });
    } finally {
      warn.mockRestore();
    }
  });
  await withDatabase(async (pool) => {
    const seeded = await seedDemoUsers(pool, log);
    expect(seeded?.map((s) => s.email)).toEqual(['owner@demo.example', 'viewer@demo.example', 'operator@demo.example']);
    expect(await memberships(pool)).toEqual([]);
    expect((await pool.query(`SELECT email, operator FROM users WHERE operator`)).rows).toEqual([{ email: 'operator@demo.example', operator: true }]);
  });
});
