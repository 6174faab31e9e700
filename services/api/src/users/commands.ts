// The user and membership operations behind `npm run users`, each taking a pool so that
// tests and other code can call them. Every write is one transaction whose app.actor
// names who made it, so the change outbox tells an operator's grant from a user's.
import os from 'node:os';
import type pg from 'pg';
import { inTransaction } from '@realtime/db';
import type { MemberRole } from '@realtime/db/schema';
import { generatePassword, hashPassword } from '../auth/password';
import { endSessions } from '../auth/sessions';
import { normaliseEmail, parseProjectId, parseRole, type UserListing } from './parse';

/** A request the database cannot satisfy (unknown email, duplicate user): exit 1. */
export class UserCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserCommandError';
  }
}

export interface WriteOptions {
  /** The outbox's actor for this write; defaults to cliActor(). */
  actor?: string;
}

/** "cli:" and the OS user who runs the command. */
export function cliActor(): string {
  let name: string | undefined;
  try {
    name = os.userInfo().username;
  } catch {
    // A container's uid may have no passwd entry: the uid is then all there is to name.
    name = `uid ${process.getuid?.() ?? 'unknown'}`;
  }
  return `cli:${name}`;
}

/** Runs fn in one transaction with app.actor set, so the outbox records who wrote. */
export async function withActor<T>(pool: pg.Pool, actor: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query(`select set_config('app.actor', $1, true)`, [actor]);
    return fn(client);
  });
}

const isUniqueViolation = (err: unknown, constraint: string) =>
  (err as { code?: string }).code === '23505' && (err as { constraint?: string }).constraint === constraint;

const noUser = (email: string) => new UserCommandError(`no user with email ${email}; \`npm run users -- list\` shows every user, \`npm run users -- add ${email}\` creates one`);

async function userId(client: pg.PoolClient, email: string): Promise<string | null> {
  const { rows } = await client.query<{ id: string }>(`SELECT id FROM users WHERE email = $1 FOR UPDATE`, [email]);
  return rows[0]?.id ?? null;
}

async function project(client: pg.PoolClient, id: string): Promise<{ id: string; name: string } | null> {
  const { rows } = await client.query<{ id: string; name: string }>(`SELECT id, name FROM projects WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

// A wrong project id is easiest fixed by seeing the right one.
async function noProject(client: pg.PoolClient, id: string): Promise<UserCommandError> {
  const { rows } = await client.query<{ id: string; name: string }>(`SELECT id, name FROM projects ORDER BY created_at DESC, name LIMIT 10`);
  const known = rows.length ? `; the most recent projects are:\n${rows.map((r) => `  ${r.id}  ${r.name}`).join('\n')}` : '; there are no projects yet (create one in the app, or start it with DEMO=1 for demo data)';
  return new UserCommandError(`no project with id ${id}${known}`);
}

/** The user and the project, or an error naming every one that does not exist. */
async function userAndProject(client: pg.PoolClient, email: string, projectId: string): Promise<{ userId: string; project: { id: string; name: string } }> {
  const uid = await userId(client, email);
  const p = await project(client, projectId);
  if (!uid && !p) throw new UserCommandError(`${noUser(email).message}\n${(await noProject(client, projectId)).message}`);
  if (!uid) throw noUser(email);
  if (!p) throw await noProject(client, projectId);
  return { userId: uid, project: p };
}

export interface AddUserInput {
  email: string;
  name?: string;
  operator?: boolean;
  /** Omitted: a strong one is generated and returned, to be shown once. */
  password?: string;
}

export interface AddedUser {
  id: string;
  email: string;
  password: string;
  generated: boolean;
}

export async function addUser(pool: pg.Pool, input: AddUserInput, opts: WriteOptions = {}): Promise<AddedUser> {
  const email = normaliseEmail(input.email);
  const generated = input.password === undefined;
  const password = input.password ?? generatePassword();
  // Hashing takes a while on purpose; it happens before the transaction, not inside it.
  const hash = await hashPassword(password);
  try {
    return await withActor(pool, opts.actor ?? cliActor(), async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO users (email, name, operator, password_hash) VALUES ($1, $2, $3, $4) RETURNING id`,
        [email, input.name ?? '', input.operator ?? false, hash],
      );
      return { id: rows[0]!.id, email, password, generated };
    });
  } catch (err) {
    if (isUniqueViolation(err, 'users_email_key')) {
      throw new UserCommandError(`a user with email ${email} already exists; to give them a new password run \`npm run users -- reset-password ${email}\``);
    }
    throw err;
  }
}

export interface GrantResult {
  email: string;
  project: { id: string; name: string };
  role: MemberRole;
  /** The role before, or null for a new membership. */
  previous: MemberRole | null;
}

/** Adds the membership, or changes its role; granting the role held already changes nothing. */
export async function grant(pool: pg.Pool, email: string, projectId: string, role: MemberRole, opts: WriteOptions = {}): Promise<GrantResult> {
  const e = normaliseEmail(email);
  const pid = parseProjectId(projectId);
  const r = parseRole(role);
  return withActor(pool, opts.actor ?? cliActor(), async (client) => {
    const { userId: uid, project: p } = await userAndProject(client, e, pid);
    const before = await client.query<{ role: MemberRole }>(`SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2 FOR UPDATE`, [pid, uid]);
    const previous = before.rows[0]?.role ?? null;
    // The WHERE leaves an unchanged role alone: no outbox row, no update streamed for nothing.
    await client.query(
      `INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role, updated_at = now()
       WHERE project_members.role IS DISTINCT FROM excluded.role`,
      [pid, uid, r],
    );
    return { email: e, project: p, role: r, previous };
  });
}

export async function revoke(pool: pg.Pool, email: string, projectId: string, opts: WriteOptions = {}): Promise<{ email: string; project: { id: string; name: string }; role: MemberRole }> {
  const e = normaliseEmail(email);
  const pid = parseProjectId(projectId);
  return withActor(pool, opts.actor ?? cliActor(), async (client) => {
    const { userId: uid, project: p } = await userAndProject(client, e, pid);
    const { rows } = await client.query<{ role: MemberRole }>(`DELETE FROM project_members WHERE project_id = $1 AND user_id = $2 RETURNING role`, [pid, uid]);
    if (!rows[0]) throw new UserCommandError(`${e} is not a member of project ${pid} (${p.name}); nothing to revoke (\`npm run users -- list\` shows memberships)`);
    return { email: e, project: p, role: rows[0].role };
  });
}

/** Deletes the user; their sessions (their sockets closed, `user-removed`) and memberships go with them (ON DELETE CASCADE). */
export async function removeUser(pool: pg.Pool, email: string, opts: WriteOptions = {}): Promise<{ email: string; memberships: number; sessions: number }> {
  const e = normaliseEmail(email);
  return withActor(pool, opts.actor ?? cliActor(), async (client) => {
    const uid = await userId(client, e);
    if (!uid) throw noUser(e);
    const { rows } = await client.query<{ memberships: number; sessions: number }>(
      `SELECT (SELECT count(*) FROM project_members WHERE user_id = $1)::int AS memberships,
              (SELECT count(*) FROM sessions WHERE user_id = $1)::int AS sessions`,
      [uid],
    );
    await endSessions(client, 'user-removed', `DELETE FROM users WHERE id = $1`, [uid]);
    return { email: e, memberships: rows[0]!.memberships, sessions: rows[0]!.sessions };
  });
}

/** Sets a new password and ends every session of the user (their sockets closed, `password-reset`), so an old one opens nothing. */
export async function resetPassword(pool: pg.Pool, email: string, password?: string, opts: WriteOptions = {}): Promise<{ email: string; password: string; generated: boolean; sessionsEnded: number }> {
  const e = normaliseEmail(email);
  const generated = password === undefined;
  const plain = password ?? generatePassword();
  const hash = await hashPassword(plain);
  return withActor(pool, opts.actor ?? cliActor(), async (client) => {
    const updated = await client.query(`UPDATE users SET password_hash = $2, updated_at = now() WHERE email = $1 RETURNING id`, [e, hash]);
    const uid = (updated.rows[0] as { id: string } | undefined)?.id;
    if (!uid) throw noUser(e);
    const ended = await endSessions(client, 'password-reset', `DELETE FROM sessions WHERE user_id = $1`, [uid]);
    return { email: e, password: plain, generated, sessionsEnded: ended };
  });
}

/** Every user with their memberships, by email; projects oldest first. */
export async function listUsers(pool: pg.Pool): Promise<UserListing[]> {
  const { rows } = await pool.query<{ id: string; email: string; name: string; operator: boolean; created_at: Date; memberships: UserListing['memberships'] }>(`
    SELECT u.id, u.email, u.name, u.operator, u.created_at,
           coalesce(json_agg(json_build_object('projectId', p.id, 'projectName', p.name, 'role', m.role)
                             ORDER BY p.created_at, p.name, p.id) FILTER (WHERE m.id IS NOT NULL), '[]') AS memberships
    FROM users u
    LEFT JOIN project_members m ON m.user_id = u.id
    LEFT JOIN projects p ON p.id = m.project_id
    GROUP BY u.id
    ORDER BY u.email`);
  return rows.map((r) => ({ id: r.id, email: r.email, name: r.name, operator: r.operator, createdAt: r.created_at.toISOString(), memberships: r.memberships }));
}
