// Demo accounts for a fresh database, one per kind of access (owner, viewer, operator),
// so that the demo can be signed into at once. Seeds only when no user exists yet.
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import type { MemberRole } from '@realtime/db/schema';
import { generatePassword, hashPassword } from '../auth/password';
import { withActor } from './commands';

export interface DemoUser {
  email: string;
  password: string;
  /** What the account is for: its project role, or "operator". */
  role: string;
}

interface Plan {
  email: string;
  name: string;
  operator: boolean;
  role: 'owner' | 'viewer' | 'operator';
  /** Which projects, as indexes into the projects oldest first, and with which role. */
  grants: { index: number; role: MemberRole }[];
}

const PLAN: Plan[] = [
  { email: 'owner@demo.example', name: 'Olivia Owner', operator: false, role: 'owner', grants: [{ index: 0, role: 'owner' }, { index: 1, role: 'owner' }] },
  { email: 'viewer@demo.example', name: 'Victor Viewer', operator: false, role: 'viewer', grants: [{ index: 2, role: 'viewer' }] },
  { email: 'operator@demo.example', name: 'Opal Operator', operator: true, role: 'operator', grants: [] },
];

/**
 * Creates the demo users in one transaction (actor "seed") when the users table is empty
 * and returns them with their plain passwords, for the caller to print once; null when
 * users existed already.
 */
export async function seedDemoUsers(pool: pg.Pool, log: Logger): Promise<DemoUser[] | null> {
  // Hashing is slow on purpose, so it happens before the transaction and its lock; the
  // check is repeated under the lock, for a process that seeded in the meantime.
  const { rows: existing } = await pool.query(`SELECT 1 FROM users LIMIT 1`);
  if (existing.length) return null;
  const accounts = await Promise.all(
    PLAN.map(async (p) => {
      const password = generatePassword();
      return { ...p, password, hash: await hashPassword(password) };
    }),
  );

  return withActor(pool, 'seed', async (client) => {
    // Blocks another process seeding at the same time (and any sign-up) until commit, so
    // "empty" still holds when the rows go in.
    await client.query(`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`);
    const { rows: again } = await client.query(`SELECT 1 FROM users LIMIT 1`);
    if (again.length) return null;
    // Rows seeded by one statement share created_at; name and id make the order stable.
    const { rows: projects } = await client.query<{ id: string; name: string }>(`SELECT id, name FROM projects ORDER BY created_at, name, id LIMIT 3`);
    const missing = PLAN.flatMap((p) => p.grants.filter((g) => g.index >= projects.length).map((g) => `${p.email} ${g.role} of project #${g.index + 1}`));
    if (missing.length) {
      log.warn({ projects: projects.length, skipped: missing }, 'fewer than three projects exist, so some demo memberships were not granted; grant them later with `npm run users -- grant`');
    }
    for (const a of accounts) {
      const { rows } = await client.query<{ id: string }>(`INSERT INTO users (email, name, operator, password_hash) VALUES ($1, $2, $3, $4) RETURNING id`, [a.email, a.name, a.operator, a.hash]);
      for (const g of a.grants) {
        const p = projects[g.index];
        if (p) await client.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)`, [p.id, rows[0]!.id, g.role]);
      }
    }
    log.info({ users: accounts.map((a) => a.email) }, 'seeded demo users');
    return accounts.map((a) => ({ email: a.email, password: a.password, role: a.role }));
  });
}
