// `npm run users` on a real database: the command functions directly, and the CLI as
// operators run it (a child process, its output and exit code).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { PasswordError, verifyPassword } from '../src/auth/password';
import { addUser, cliActor, grant, listUsers, removeUser, resetPassword, revoke, UserCommandError } from '../src/users/commands';
import { repoRoot } from '@realtime/testkit';

let db: TestDatabase;
let pool: pg.Pool;
let acme = '';
let harbor = '';

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  acme = (await pool.query(`INSERT INTO projects (name) VALUES ('Acme') RETURNING id`)).rows[0].id;
  harbor = (await pool.query(`INSERT INTO projects (name) VALUES ('Harbor') RETURNING id`)).rows[0].id;
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function users(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/users/cli.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

const hashOf = async (email: string) => (await pool.query(`SELECT password_hash FROM users WHERE email = $1`, [email])).rows[0]?.password_hash as string | undefined;
const membership = async (email: string, projectId: string) =>
  (await pool.query(`SELECT m.role FROM project_members m JOIN users u ON u.id = m.user_id WHERE u.email = $1 AND m.project_id = $2`, [email, projectId])).rows[0]?.role as string | undefined;
const outboxCount = async () => (await pool.query(`SELECT count(*)::int AS n FROM change_outbox WHERE table_name = 'project_members'`)).rows[0].n as number;
const lastMemberChange = async () =>
  (await pool.query(`SELECT op, actor, new_row, old_row FROM change_outbox WHERE table_name = 'project_members' ORDER BY id DESC LIMIT 1`)).rows[0] as {
    op: string;
    actor: string;
    new_row: Record<string, unknown> | null;
    old_row: Record<string, unknown> | null;
  };
const failure = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: Error) => err,
  );
const addSession = (email: string, id: string) =>
  pool.query(`INSERT INTO sessions (id, user_id, expires_at) SELECT $2, id, now() + interval '1 day' FROM users WHERE email = $1`, [email, id]);
const sessionCount = async (email: string) =>
  (await pool.query(`SELECT count(*)::int AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1`, [email])).rows[0].n as number;

describe('commands', () => {
  test('add: lower-cased email, an argon2 hash that verifies, a generated password', async () => {
    const added = await addUser(pool, { email: '  Mixed.Case@Example.COM ', name: 'Mixed Case', operator: true });
    expect(added.email).toBe('mixed.case@example.com');
    expect(added.generated).toBe(true);
    expect(added.password).toHaveLength(24);
    const { rows } = await pool.query(`SELECT email, name, operator, password_hash FROM users WHERE id = $1`, [added.id]);
    expect(rows[0]).toMatchObject({ email: 'mixed.case@example.com', name: 'Mixed Case', operator: true });
    expect(rows[0].password_hash).not.toContain(added.password);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(rows[0].password_hash, added.password)).toBe(true);
    expect(await verifyPassword(rows[0].password_hash, 'not the password')).toBe(false);
  });

  test('add: a given password, and the refusals', async () => {
    const added = await addUser(pool, { email: 'given@example.com', password: 'a long enough password' });
    expect(added.generated).toBe(false);
    expect(await verifyPassword((await hashOf('given@example.com'))!, 'a long enough password')).toBe(true);
    const dup = await failure(addUser(pool, { email: 'GIVEN@example.com' }));
    expect(dup).toBeInstanceOf(UserCommandError);
    expect(dup.message).toMatch(/a user with email given@example\.com already exists; .*reset-password given@example\.com/);
    await expect(addUser(pool, { email: 'short@example.com', password: 'short' })).rejects.toThrow(PasswordError);
    expect(await hashOf('short@example.com')).toBeUndefined();
  });

  test('grant, regrant, revoke: project_members changes, each recorded in the outbox as the CLI', async () => {
    await addUser(pool, { email: 'member@example.com' });
    const before = await outboxCount();

    expect(await grant(pool, 'Member@Example.com', acme, 'viewer')).toMatchObject({ previous: null, role: 'viewer', project: { id: acme, name: 'Acme' } });
    expect(await membership('member@example.com', acme)).toBe('viewer');
    expect(await lastMemberChange()).toMatchObject({ op: 'INSERT', actor: cliActor(), new_row: { project_id: acme, role: 'viewer' } });
    expect(cliActor()).toMatch(/^cli:./);

    expect(await grant(pool, 'member@example.com', acme, 'owner')).toMatchObject({ previous: 'viewer', role: 'owner' });
    expect(await membership('member@example.com', acme)).toBe('owner');
    expect(await lastMemberChange()).toMatchObject({ op: 'UPDATE', actor: cliActor(), old_row: { role: 'viewer' }, new_row: { role: 'owner' } });
    expect(await outboxCount()).toBe(before + 2);

    // The role held already: nothing written, nothing streamed.
    expect(await grant(pool, 'member@example.com', acme, 'owner')).toMatchObject({ previous: 'owner', role: 'owner' });
    expect(await outboxCount()).toBe(before + 2);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM project_members WHERE project_id = $1`, [acme]);
    expect(rows[0].n).toBe(1);

    expect(await revoke(pool, 'member@example.com', acme)).toMatchObject({ role: 'owner', project: { name: 'Acme' } });
    expect(await membership('member@example.com', acme)).toBeUndefined();
    expect(await lastMemberChange()).toMatchObject({ op: 'DELETE', actor: cliActor(), old_row: { project_id: acme, role: 'owner' } });
    expect(await outboxCount()).toBe(before + 3);

    await expect(revoke(pool, 'member@example.com', acme)).rejects.toThrow(/member@example\.com is not a member of project .* \(Acme\); nothing to revoke/);
  });

  test('an actor the caller names is recorded instead', async () => {
    await grant(pool, 'member@example.com', harbor, 'editor', { actor: 'cli:provisioning' });
    expect(await lastMemberChange()).toMatchObject({ op: 'INSERT', actor: 'cli:provisioning' });
    await revoke(pool, 'member@example.com', harbor);
  });

  test('unknown email or project: the error names which, and a failed grant writes nothing', async () => {
    const before = await outboxCount();
    const missing = '00000000-0000-4000-8000-000000000000';
    await expect(grant(pool, 'nobody@example.com', acme, 'viewer')).rejects.toThrow(/^no user with email nobody@example\.com; .*users -- add/);
    const noProject = await failure(grant(pool, 'member@example.com', missing, 'viewer'));
    expect(noProject).toBeInstanceOf(UserCommandError);
    expect(noProject.message).toMatch(new RegExp(`^no project with id ${missing}; the most recent projects are:`));
    expect(noProject.message).toContain(`${acme}  Acme`);
    const both = await failure(revoke(pool, 'nobody@example.com', missing));
    expect(both.message).toMatch(/no user with email nobody@example\.com[^]*no project with id/);
    await expect(removeUser(pool, 'nobody@example.com')).rejects.toThrow(/no user with email/);
    await expect(resetPassword(pool, 'nobody@example.com')).rejects.toThrow(/no user with email/);
    expect(await outboxCount()).toBe(before);
  });

  test('remove: the user goes, and their sessions and memberships by cascade, recorded as the CLI', async () => {
    await addUser(pool, { email: 'leaving@example.com' });
    await grant(pool, 'leaving@example.com', acme, 'editor');
    await grant(pool, 'leaving@example.com', harbor, 'viewer');
    await addSession('leaving@example.com', 'leaving-1');
    const id = (await pool.query(`SELECT id FROM users WHERE email = 'leaving@example.com'`)).rows[0].id as string;
    const before = await outboxCount();

    expect(await removeUser(pool, 'LEAVING@example.com')).toEqual({ email: 'leaving@example.com', memberships: 2, sessions: 1 });
    expect(await hashOf('leaving@example.com')).toBeUndefined();
    expect((await pool.query(`SELECT count(*)::int AS n FROM project_members WHERE user_id = $1`, [id])).rows[0].n).toBe(0);
    expect((await pool.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [id])).rows[0].n).toBe(0);
    const { rows } = await pool.query(`SELECT op, actor FROM change_outbox WHERE table_name = 'project_members' ORDER BY id OFFSET $1`, [before]);
    expect(rows).toEqual([
      { op: 'DELETE', actor: cliActor() },
      { op: 'DELETE', actor: cliActor() },
    ]);
  });

  test('reset-password: a new hash, the old password refused, every session ended', async () => {
    const { password: old } = await addUser(pool, { email: 'forgetful@example.com' });
    await addSession('forgetful@example.com', 'forgetful-1');
    await addSession('forgetful@example.com', 'forgetful-2');
    await addSession('member@example.com', 'someone-else');
    const oldHash = await hashOf('forgetful@example.com');

    const reset = await resetPassword(pool, 'Forgetful@example.com');
    expect(reset).toMatchObject({ email: 'forgetful@example.com', generated: true, sessionsEnded: 2 });
    const newHash = (await hashOf('forgetful@example.com'))!;
    expect(newHash).not.toBe(oldHash);
    expect(await verifyPassword(newHash, reset.password)).toBe(true);
    expect(await verifyPassword(newHash, old)).toBe(false);
    expect(await sessionCount('forgetful@example.com')).toBe(0);
    expect(await sessionCount('member@example.com')).toBe(1);

    expect(await resetPassword(pool, 'forgetful@example.com', 'chosen by the operator')).toMatchObject({ generated: false, password: 'chosen by the operator', sessionsEnded: 0 });
    expect(await verifyPassword((await hashOf('forgetful@example.com'))!, 'chosen by the operator')).toBe(true);
    await expect(resetPassword(pool, 'forgetful@example.com', 'short')).rejects.toThrow(PasswordError);
  });

  test('list: every user with memberships, projects named', async () => {
    await grant(pool, 'member@example.com', harbor, 'editor');
    await grant(pool, 'member@example.com', acme, 'viewer');
    const list = await listUsers(pool);
    expect(list.map((u) => u.email)).toEqual([...list.map((u) => u.email)].sort());
    const member = list.find((u) => u.email === 'member@example.com')!;
    expect(member.memberships).toEqual([
      { projectId: acme, projectName: 'Acme', role: 'viewer' },
      { projectId: harbor, projectName: 'Harbor', role: 'editor' },
    ]);
    expect(list.find((u) => u.email === 'given@example.com')).toMatchObject({ operator: false, memberships: [] });
    expect(list.find((u) => u.email === 'mixed.case@example.com')).toMatchObject({ name: 'Mixed Case', operator: true });
  });
});

describe('the CLI', () => {
  test('add --password-stdin: the first line of stdin becomes the password', async () => {
    const r = await users(['add', 'Piped@Example.com', '--name', 'Piped In', '--password-stdin'], 'piped password 123\nignored second line\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('created user piped@example.com\npassword set from standard input\n');
    const hash = (await hashOf('piped@example.com'))!;
    expect(hash).not.toContain('piped password 123');
    expect(await verifyPassword(hash, 'piped password 123')).toBe(true);
  });

  test('add without --password-stdin prints a generated password once; the duplicate fails', async () => {
    const r = await users(['add', 'generated@example.com', '--operator']);
    expect(r.code).toBe(0);
    const password = /^password \(shown once\): (\S+)$/m.exec(r.stdout)?.[1];
    expect(password).toHaveLength(24);
    expect(await verifyPassword((await hashOf('generated@example.com'))!, password!)).toBe(true);

    const dup = await users(['add', 'GENERATED@example.com']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/a user with email generated@example\.com already exists; .*npm run users -- reset-password generated@example\.com/);
  });

  test('add --password-stdin refuses a short password with the rule, before touching the database', async () => {
    const r = await users(['add', 'short@example.com', '--password-stdin'], 'tiny\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--password-stdin: the password must be at least 12 characters/);
    expect(r.stderr).toMatch(/usage: npm run users -- add <email>/);
    expect(await hashOf('short@example.com')).toBeUndefined();
  });

  test('grant through the CLI is recorded with the OS user as actor; list --json is one array', async () => {
    const g = await users(['grant', 'piped@example.com', acme, 'owner']);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/granted piped@example\.com owner of project .* \(Acme\)/);
    expect(await lastMemberChange()).toMatchObject({ op: 'INSERT', actor: cliActor() });
    const nope = await users(['grant', 'piped@example.com', '00000000-0000-4000-8000-000000000000', 'owner']);
    expect(nope.code).toBe(1);
    expect(nope.stderr).toMatch(/no project with id 00000000-0000-4000-8000-000000000000/);

    const r = await users(['list', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { email: string; name: string; operator: boolean; memberships: unknown[] }[];
    expect(Array.isArray(list)).toBe(true);
    expect(list.find((u) => u.email === 'piped@example.com')).toMatchObject({ name: 'Piped In', operator: false, memberships: [{ projectId: acme, projectName: 'Acme', role: 'owner' }] });
    expect(list.find((u) => u.email === 'generated@example.com')).toMatchObject({ operator: true, memberships: [] });
    expect(list.map((u) => u.email)).toEqual((await listUsers(pool)).map((u) => u.email));

    const table = await users(['list']);
    expect(table.stdout).toMatch(/^email\s+name\s+operator\s+role\s+project id\s+project$/m);
    expect(table.stdout).toMatch(new RegExp(`^piped@example\\.com\\s+Piped In\\s+no\\s+owner\\s+${acme}\\s+Acme$`, 'm'));
  });

  test('no command, an unknown one or a bad argument: exit 2 with the usage on stderr', async () => {
    const none = await users([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/no command given[^]*usage: npm run users -- <command>[^]*reset-password <email>/);
    const unknown = await users(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const badRole = await users(['grant', 'piped@example.com', acme, 'admin']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/<role> must be viewer, editor or owner, got "admin"[^]*usage: npm run users -- grant/);
  });
});
