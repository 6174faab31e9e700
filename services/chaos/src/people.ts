// The run's people: users sharing one password, the pinned projects and their planned
// grants, a lone user with no subscribers, the queue clients' users, and an auditor
// granted everything only at the end.
import { randomBytes } from 'node:crypto';
import type { planUsers } from './plan';
import type { Stack } from './stack';
import { signIn } from './users';

export interface People {
  ids: string[];
  emails: string[];
  password: string;
  auditor: { id: string; email: string };
}

/**
 * The run's users, and an auditor with no membership until the end. They share one
 * password: the users CLI hashes it once (argon2 is slow on purpose) and the others get
 * a copy of that hash.
 */
export async function createUsers(s: Stack, count: number): Promise<People> {
  const password = randomBytes(18).toString('base64url');
  const emails = Array.from({ length: count }, (_, i) => `chaos-user-${i + 1}@chaos.test`);
  const auditorEmail = 'chaos-auditor@chaos.test';
  await s.addUser(emails[0]!, password);
  await s.query(`INSERT INTO users (email, password_hash) SELECT e, (SELECT password_hash FROM users WHERE email = $1) FROM unnest($2::text[]) e`, [emails[0], [...emails.slice(1), auditorEmail]]);
  const rows = await s.query<{ id: string; email: string }>(`SELECT id, email FROM users`);
  const id = (email: string) => rows.find((row) => row.email === email)!.id;
  return { ids: emails.map(id), emails, password, auditor: { id: id(auditorEmail), email: auditorEmail } };
}

/** A user with the others' password and a viewer's membership of every pinned project, and no subscribers. */
export async function createLoneUser(s: Stack, people: People, pinned: string[]): Promise<{ id: string; email: string }> {
  const email = 'chaos-lone@chaos.test';
  const [row] = await s.query<{ id: string }>(`INSERT INTO users (email, password_hash) SELECT $1, password_hash FROM users WHERE email = $2 RETURNING id::text AS id`, [email, people.emails[0]]);
  await s.query(`INSERT INTO project_members (project_id, user_id, role) SELECT p, $2, 'viewer' FROM unnest($1::uuid[]) p`, [pinned, row!.id]);
  return { id: row!.id, email };
}

/** The pinned projects, each made by its creator (who owns it through the product's trigger), then the planned grants. */
export async function createPinned(s: Stack, userIds: string[], plans: ReturnType<typeof planUsers>, count: number): Promise<string[]> {
  const pinned: string[] = [];
  for (let k = 0; k < count; k++) {
    const creator = userIds[k % userIds.length]!;
    pinned.push(
      await s.transaction(async (c) => {
        await c.query(`SELECT set_config('app.user_id', $1, true), set_config('app.actor', 'chaos-setup', true)`, [creator]);
        return (await c.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [`pinned ${k + 1}`])).rows[0]!.id;
      }),
    );
  }
  const grants = plans.flatMap((u) => u.memberships.filter((m) => userIds[m.project % userIds.length] !== userIds[u.index]).map((m) => [pinned[m.project], userIds[u.index], m.role]));
  for (const [project, user, role] of grants) await s.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)`, [project, user, role]);
  return pinned;
}

/** The auditor granted every project now, and signed in: a fresh read of everything through the API. */
export async function auditorSession(s: Stack, base: string, people: People): Promise<string> {
  await s.query(`INSERT INTO project_members (project_id, user_id, role) SELECT id, $1, 'viewer' FROM projects ON CONFLICT DO NOTHING`, [people.auditor.id]);
  return signIn(base, people.auditor.email, people.password);
}

/**
 * The queue clients: users of their own (so that their writes are told apart in the
 * outbox by actor, and no membership change of the run takes their projects away), each
 * an editor of every pinned project, with the run's password.
 */
export async function createQueueUsers(s: Stack, people: People, pinned: string[], count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, (_, i) => `chaos-queue-${i + 1}@chaos.test`);
  if (!count) return emails;
  await s.query(`INSERT INTO users (email, password_hash) SELECT e, (SELECT password_hash FROM users WHERE email = $1) FROM unnest($2::text[]) e`, [people.emails[0], emails]);
  await s.query(`INSERT INTO project_members (project_id, user_id, role) SELECT p, u.id, 'editor' FROM unnest($1::uuid[]) p, users u WHERE u.email = ANY($2::text[])`, [pinned, emails]);
  return emails;
}
