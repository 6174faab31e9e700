// The processes' login roles as an attacker inside each process would try them: the API's
// can SET ROLE realtime_api, and RESET ROLE gives back only its own few rights, never the
// owner's; none is a superuser or bypasses row-level security; the gateway's only reads;
// the replicator's stamps and drives its slot but rewrites nothing else.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createLogger } from '@realtime/runtime';
import type { Logger } from '@realtime/runtime';
import { ensureLoginRoles, RoleSetupError, SERVICES, warnIfPrivileged, type LoginRole, type Service } from '../src/roles';
import { checkStatementTimeout, StatementTimeoutError } from '../src/statement-timeout';
import { useTestDatabase } from './harness';

const fx = useTestDatabase();
const log = createLogger('silent');
const suffix = randomBytes(4).toString('hex');
const roles: LoginRole[] = SERVICES.map((service) => ({ service, user: `rt_${service}_${suffix}`, password: randomBytes(12).toString('base64url') }));
const pools = {} as Record<Service, pg.Pool>;
const ids = { alice: '', bob: '', A: '', B: '', ownerPid: 0 };

function loginUrl(role: LoginRole): string {
  const u = new URL(fx.db.url);
  u.username = role.user;
  u.password = role.password!;
  return u.toString();
}

/**
 * Runs `statements` in one transaction, always rolled back; the last one's rows. ALTER
 * SYSTEM refuses any transaction block, so a list holding it runs without one, on a
 * session thrown away after.
 */
async function run(service: Service, ...statements: string[]): Promise<Record<string, unknown>[]> {
  const c = await pools[service].connect();
  const block = !statements.some((s) => s.startsWith('ALTER SYSTEM'));
  try {
    if (block) await c.query('BEGIN');
    let rows: Record<string, unknown>[] = [];
    for (const s of statements) rows = (await c.query(s)).rows;
    return rows;
  } finally {
    if (block) await c.query('ROLLBACK').catch(() => undefined);
    c.release(!block);
  }
}

/** The SQLSTATE the last statement fails with (after the others succeeded), or 'ok'. */
async function outcome(service: Service, ...statements: string[]): Promise<string> {
  try {
    await run(service, ...statements);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

beforeAll(async () => {
  const q = (text: string, params: unknown[] = []) => fx.pool.query(text, params).then((r) => r.rows[0]?.id as string);
  ids.alice = await q(`INSERT INTO users (email, password_hash) VALUES ('alice@example.com', 'hash-a') RETURNING id`);
  ids.bob = await q(`INSERT INTO users (email, password_hash) VALUES ('bob@example.com', 'hash-b') RETURNING id`);
  ids.A = await q(`INSERT INTO projects (name) VALUES ('A') RETURNING id`);
  ids.B = await q(`INSERT INTO projects (name) VALUES ('B') RETURNING id`);
  await fx.pool.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner'), ($3, $4, 'owner')`, [ids.A, ids.alice, ids.B, ids.bob]);
  await fx.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'a.pdf'), ($2, 'b.pdf')`, [ids.A, ids.B]);
  await fx.pool.query(`INSERT INTO idempotency_keys (user_id, key, request_hash, status, body) VALUES ($1, 'k1', 'h', 201, '{"secret": "bob"}')`, [ids.bob]);
  const owner = await fx.pool.connect();
  try {
    await ensureLoginRoles(owner, roles, log);
  } finally {
    owner.release();
  }
  for (const r of roles) pools[r.service] = new pg.Pool({ connectionString: loginUrl(r), max: 2 });
  // A session of the owner's that the logins must not be able to end.
  const held = await fx.pool.connect();
  ids.ownerPid = (await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  held.release();
});

afterAll(async () => {
  for (const p of Object.values(pools)) await p.end();
  for (const r of roles) await fx.pool.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.user)}`);
});

test('no login role is a superuser, bypasses row-level security, creates roles or databases; only the replicator replicates', async () => {
  const { rows } = await fx.pool.query(
    `SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
    [roles.map((r) => r.user)],
  );
  expect(rows).toEqual(
    roles
      .map((r) => ({ rolname: r.user, rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolreplication: r.service === 'replicator', rolcanlogin: true }))
      .sort((a, b) => a.rolname.localeCompare(b.rolname)),
  );
});

// Whatever a compromised process might try; every one of them needs more than its role has.
const escapes: [string, string[]][] = [
  ['SET ROLE to the owner', ['SET ROLE postgres']],
  ['SET SESSION AUTHORIZATION', ['SET SESSION AUTHORIZATION postgres']],
  ['CREATE ROLE', [`CREATE ROLE rt_escape_${suffix} SUPERUSER`]],
  ['read pg_authid', ['SELECT rolpassword FROM pg_authid']],
  ['COPY TO PROGRAM', [`COPY (SELECT 1) TO PROGRAM 'true'`]],
  ['read a server file', [`SELECT pg_read_file('postgresql.conf')`]],
  ['ALTER SYSTEM', [`ALTER SYSTEM SET work_mem = '1MB'`]],
  ['switch triggers off', ['SET session_replication_role = replica']],
  ['drop a table', ['DROP TABLE projects']],
  ['truncate the outbox', ['TRUNCATE change_outbox']],
  ['turn row-level security off', ['ALTER TABLE projects DISABLE ROW LEVEL SECURITY']],
  ['create a table', ['CREATE TABLE public.escape (id int)']],
  ['write the outbox', [`INSERT INTO change_outbox (table_name, op, row_id, txid) VALUES ('projects', 'INSERT', 'x', pg_current_xact_id())`]],
  ['rewrite a change', [`UPDATE change_outbox SET new_row = '{}'`]],
  ['read the app tables past row-level security', ['SELECT * FROM extraction_jobs']],
  ['write the app tables', [`INSERT INTO projects (name) VALUES ('forged')`]],
  ['change a publication', ['ALTER PUBLICATION realtime_outbox SET TABLE change_outbox (id)']],
  ['create a publication', ['CREATE PUBLICATION escape FOR TABLE projects']],
];

describe.each(SERVICES)('the %s login role', (service) => {
  test.each(escapes)('cannot %s', async (_what, statements) => {
    expect(await outcome(service, ...statements)).toBe('42501');
  });

  test('cannot end an owner session, nor the others enter each other', async () => {
    expect(await outcome(service, `SELECT pg_terminate_backend(${ids.ownerPid})`)).toBe('42501');
    for (const other of SERVICES.filter((s) => s !== service)) {
      expect(await outcome(service, `SET ROLE ${roles.find((r) => r.service === other)!.user}`)).toBe('42501');
    }
  });

  test('RESET ROLE leaves it itself', async () => {
    const [row] = await run(service, 'RESET ROLE', 'SELECT current_user AS me, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super');
    expect(row).toEqual({ me: roles.find((r) => r.service === service)!.user, super: false });
  });
});

describe('the API login role', () => {
  test('SET ROLE realtime_api works and row-level security holds there: one user sees their own rows only', async () => {
    const rows = await run('api', 'SET LOCAL ROLE realtime_api', `SELECT set_config('app.user_id', '${ids.alice}', true)`, 'SELECT project_id FROM extraction_jobs');
    expect(rows).toEqual([{ project_id: ids.A }]);
  });

  test.each(escapes)('after SET ROLE realtime_api and RESET ROLE it still cannot %s', async (_what, statements) => {
    expect(await outcome('api', 'SET ROLE realtime_api', 'RESET ROLE', ...statements)).toBe('42501');
  });

  test('after SET ROLE realtime_api and RESET ROLE, another user\'s rows and stored answers stay out of reach', async () => {
    expect(await outcome('api', 'SET ROLE realtime_api', `SELECT set_config('app.user_id', '${ids.alice}', false)`, 'RESET ROLE', 'SELECT * FROM projects')).toBe('42501');
    expect(await outcome('api', 'SET ROLE realtime_api', 'RESET ROLE', 'SELECT body FROM idempotency_keys')).toBe('42501');
    expect(await outcome('api', 'SET ROLE realtime_api', 'RESET ROLE', 'UPDATE users SET password_hash = NULL')).toBe('42501');
    expect(await outcome('api', 'SET ROLE realtime_api', 'RESET ROLE', 'SET ROLE realtime_replicator_service')).toBe('42501');
  });

  test('realtime_api\'s table rights are not its own: without SET ROLE, a user id set by hand opens nothing', async () => {
    expect(await outcome('api', `SELECT set_config('app.user_id', '${ids.bob}', true)`, 'SELECT * FROM extraction_jobs')).toBe('42501');
  });

  test('does its own work: sign-in, sessions, OIDC links, memberships, the list cursor, the outbox, retention and key pruning', async () => {
    expect(await run('api', `SELECT password_hash FROM users WHERE email = 'bob@example.com'`)).toEqual([{ password_hash: 'hash-b' }]);
    expect(await outcome('api', `INSERT INTO sessions (id, user_id, expires_at) VALUES ('s1', '${ids.alice}', now() + interval '1 day')`, `UPDATE sessions SET last_seen_at = now()`, 'DELETE FROM sessions')).toBe('ok');
    expect(await run('api', `UPDATE users SET oidc_subject = 'sub-1', updated_at = now() WHERE email = 'alice@example.com' RETURNING email`)).toEqual([{ email: 'alice@example.com' }]);
    expect(await run('api', `SELECT role FROM project_members WHERE user_id = '${ids.bob}'`)).toEqual([{ role: 'owner' }]);
    expect(await outcome('api', 'SELECT max(seq), count(*) FROM change_outbox', 'SELECT * FROM realtime_status', 'UPDATE realtime_state SET pruned_through = pruned_through WHERE id = 1', 'DELETE FROM change_outbox WHERE seq < 0')).toBe('ok');
    expect(await run('api', `DELETE FROM idempotency_keys WHERE (user_id, key) IN (SELECT user_id, key FROM idempotency_keys WHERE created_at < now() + interval '1 hour') RETURNING key`)).toEqual([{ key: 'k1' }]);
    // Sessions.create's occasional clean-up: expired sessions, and ended sessions' records past a day.
    expect(await outcome('api', 'DELETE FROM sessions WHERE expires_at < now()', `DELETE FROM session_ends WHERE ended_at < now() - interval '1 day'`)).toBe('ok');
  });

  test('cannot take a user\'s password, add users, stamp, or steer the replicator', async () => {
    expect(await outcome('api', `UPDATE users SET password_hash = 'mine'`)).toBe('42501');
    expect(await outcome('api', `INSERT INTO users (email) VALUES ('mallory@example.com')`)).toBe('42501');
    expect(await outcome('api', 'UPDATE change_outbox SET seq = 1 WHERE seq IS NULL')).toBe('42501');
    expect(await outcome('api', 'UPDATE realtime_state SET notify_enabled = true')).toBe('42501');
  });
});

describe('the gateway login role', () => {
  test('reads the outbox, the head and the floor', async () => {
    expect(await outcome('gateway', 'SELECT * FROM change_outbox ORDER BY seq LIMIT 10', 'SELECT pruned_through FROM realtime_state', 'SELECT * FROM realtime_status')).toBe('ok');
  });

  test('reads whether a token\'s session lives and how it ended (services/gateway/src/auth/sessions.ts), not its token\'s hash', async () => {
    expect(
      await outcome(
        'gateway',
        `SELECT EXISTS (SELECT 1 FROM sessions WHERE sid = gen_random_uuid() AND user_id = '${ids.alice}' AND expires_at > now()) AS live, (SELECT reason FROM session_ends WHERE id = gen_random_uuid()) AS ended`,
      ),
    ).toBe('ok');
    expect(await outcome('gateway', 'SELECT id FROM sessions')).toBe('42501');
  });

  test.each([
    ['sign-in secrets', 'SELECT password_hash FROM users'],
    ['sessions', 'SELECT * FROM sessions'],
    ['memberships as a table', 'SELECT * FROM project_members'],
    ['stored answers', 'SELECT * FROM idempotency_keys'],
    ['stamping', 'UPDATE change_outbox SET seq = 1 WHERE seq IS NULL'],
    ['pruning', 'DELETE FROM change_outbox'],
    ['the replicator state', 'UPDATE realtime_state SET notify_enabled = true'],
    ['row-level security roles', 'SET ROLE realtime_api'],
  ])('is refused %s', async (_what, statement) => {
    expect(await outcome('gateway', statement)).toBe('42501');
  });
});

describe('the replicator login role', () => {
  test('stamps, keeps its state, takes the leader lock and creates and drops its slot', async () => {
    const slot = `rt_roles_${suffix}`;
    expect(
      await outcome(
        'replicator',
        'SELECT pg_try_advisory_lock(1)',
        'UPDATE change_outbox SET seq = 1000000 + id, committed_at = now() WHERE seq IS NULL',
        `UPDATE realtime_state SET mode = 'notify', reason = 'test', notify_enabled = true, leader = 'me', leader_since = now(), slot_name = 'x', slot_ready = false, updated_at = now() WHERE id = 1`,
        'SELECT * FROM realtime_status',
      ),
    ).toBe('ok');
    // Slots are not transactional: made and dropped on a session of their own.
    const c = new pg.Client({ connectionString: loginUrl(roles.find((r) => r.service === 'replicator')!) });
    await c.connect();
    try {
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
      await c.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
    } finally {
      await c.end();
    }
  });

  test.each([
    ['sign-in secrets', 'SELECT password_hash FROM users'],
    ['sessions', 'SELECT * FROM sessions'],
    ['a change\'s content', `UPDATE change_outbox SET actor = 'forged'`],
    ['pruning', 'DELETE FROM change_outbox'],
    ['the retention floor', 'UPDATE realtime_state SET pruned_through = 1000000'],
    ['row-level security roles', 'SET ROLE realtime_api'],
  ])('is refused %s', async (_what, statement) => {
    expect(await outcome('replicator', statement)).toBe('42501');
  });
});

describe('setting the roles up', () => {
  test('runs again with a new password, which is the one that works then', async () => {
    const api = roles.find((r) => r.service === 'api')!;
    const next = { ...api, password: randomBytes(12).toString('base64url') };
    const owner = await fx.pool.connect();
    try {
      await ensureLoginRoles(owner, [next], log);
    } finally {
      owner.release();
    }
    const c = new pg.Client({ connectionString: loginUrl(next) });
    await c.connect();
    expect((await c.query('SELECT current_user AS me')).rows).toEqual([{ me: api.user }]);
    await c.end();
    const old = new pg.Client({ connectionString: loginUrl(api) });
    await expect(old.connect()).rejects.toMatchObject({ code: '28P01' });
    await old.end().catch(() => undefined);
    await pools.api.end();
    pools.api = new pg.Pool({ connectionString: loginUrl(next), max: 2 });
  });

  test.each([
    ['the owner itself', null, /the owner that runs the migrations/],
    ['a group of the schema', 'realtime_api', /a group role of the schema/],
  ])('refuses %s as a login role, naming the fix', async (_what, named, message) => {
    const owner = await fx.pool.connect();
    try {
      const user = named ?? (await owner.query<{ me: string }>('SELECT current_user AS me')).rows[0]!.me;
      const err = await ensureLoginRoles(owner, [{ service: 'api', user, password: 'x' }], log).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RoleSetupError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/DATABASE_URL_API/);
    } finally {
      owner.release();
    }
  });
});

describe('a process that finds itself privileged', () => {
  const recorder = () => {
    const warnings: string[] = [];
    return { warnings, log: { warn: (_obj: unknown, msg: string) => warnings.push(msg) } as unknown as Logger };
  };

  test('says so loudly, naming the variable that fixes it, when its pool is the owner\'s', async () => {
    const { warnings, log: recording } = recorder();
    const report = await warnIfPrivileged(fx.pool, 'gateway', fx.db.url, recording);
    expect(report).toMatchObject({ superuser: true });
    expect(warnings).toEqual([expect.stringMatching(/the gateway connects to Postgres as \S+, a superuser: .*Set DATABASE_URL_GATEWAY/)]);
  });

  test.each(SERVICES)('stays quiet on the %s login role', async (service) => {
    const { warnings, log: recording } = recorder();
    const report = await warnIfPrivileged(pools[service], service, fx.db.url, recording);
    expect(report).toEqual({ user: expect.stringMatching(/^rt_/), superuser: false, bypassRls: false, owner: false });
    expect(warnings).toEqual([]);
  });
});

describe('the statement timeout', () => {
  const recorder = () => {
    const warnings: string[] = [];
    return { warnings, log: { warn: (_obj: unknown, msg: string) => warnings.push(msg) } as unknown as Logger };
  };
  const show = async (pool: pg.Pool) => (await pool.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout;
  const gateway = roles.find((r) => r.service === 'gateway')!;
  const setUp = async (statementTimeoutMs?: number) => {
    const owner = await fx.pool.connect();
    try {
      await ensureLoginRoles(owner, [gateway], log, statementTimeoutMs === undefined ? {} : { statementTimeoutMs });
    } finally {
      owner.release();
    }
  };

  test('is the API\'s and the gateway\'s role default in the database, set when the roles are; the replicator has none', async () => {
    const fresh = (service: Service) => new pg.Pool({ connectionString: loginUrl(roles.find((r) => r.service === service)!), max: 1 });
    for (const [service, expected] of [['gateway', '15s'], ['replicator', '0']] as const) {
      const pool = fresh(service);
      try {
        expect(await show(pool), service).toBe(expected);
      } finally {
        await pool.end();
      }
    }
    const { warnings, log: recording } = recorder();
    await checkStatementTimeout(pools.gateway, { service: 'gateway', url: fx.db.url, expectedMs: 15_000, ownLogin: true }, recording);
    expect(warnings).toEqual([]);
  });

  test('a change reaches new connections; one opened before warns, one whose role lacks the value stops the start with the SQL to run', async () => {
    const before = new pg.Pool({ connectionString: loginUrl(gateway), max: 1 });
    const after = new pg.Pool({ connectionString: loginUrl(gateway), max: 1 });
    try {
      expect(await show(before)).toBe('15s');
      await setUp(2000);
      expect(await show(after)).toBe('2s');
      const { warnings, log: recording } = recorder();
      await checkStatementTimeout(before, { service: 'gateway', url: fx.db.url, expectedMs: 2000, ownLogin: true }, recording);
      expect(warnings).toEqual([expect.stringMatching(/still has statement_timeout 15000ms from before it was set to 2000ms.*RECONNECT/)]);
      await checkStatementTimeout(after, { service: 'gateway', url: fx.db.url, expectedMs: 2000, ownLogin: true }, recording);
      expect(warnings).toHaveLength(1);
      const err = await checkStatementTimeout(after, { service: 'gateway', url: fx.db.url, expectedMs: 15_000, ownLogin: true }, recording).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StatementTimeoutError);
      expect((err as Error).message).toMatch(/STATEMENT_TIMEOUT_MS is 15000, but the gateway's login role \S+ has statement_timeout 2000ms/);
      expect((err as Error).message).toContain(`ALTER ROLE "${gateway.user}" IN DATABASE "${fx.db.name}" SET statement_timeout = '15000ms'`);
    } finally {
      await before.end();
      await after.end();
      await setUp();
    }
  });

  test('a process running as the owner is told its statements are unbounded, and how to fix it', async () => {
    const { warnings, log: recording } = recorder();
    await checkStatementTimeout(fx.pool, { service: 'api', url: fx.db.url, expectedMs: 15_000, ownLogin: false }, recording);
    expect(warnings).toEqual([expect.stringMatching(/the owner, so STATEMENT_TIMEOUT_MS does not bound its statements: set DATABASE_URL_API/)]);
  });
});
