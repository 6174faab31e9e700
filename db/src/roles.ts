// The login roles the processes connect as (API, gateway, replicator) and what each holds:
// one NOLOGIN group of migration 0012, plus, for the API, SET ROLE realtime_api without its
// rights. The owner creates or updates them when it migrates; app traffic never runs as it.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { DEFAULT_STATEMENT_TIMEOUT_MS } from './env';
import { configuredTimeout } from './statement-timeout';
import { redactUrl } from './url';

export const SERVICES = ['api', 'gateway', 'replicator'] as const;
export type Service = (typeof SERVICES)[number];

export interface ServiceRights {
  /** The group (migration 0012) whose table rights the login role inherits. */
  group: string;
  /** Roles it may SET ROLE to without inheriting their rights (Postgres 16+: WITH INHERIT FALSE). */
  setRoles: readonly string[];
  /** The slot and the WAL stream need the REPLICATION attribute, which no group passes on. */
  replication: boolean;
  /**
   * Whether its statements are cut at STATEMENT_TIMEOUT_MS: the role's default in the
   * database, so that it holds through a transaction pooler (statement-timeout.ts). The
   * replicator's stamping of a large transaction is not cut short.
   */
  statementTimeout: boolean;
}

export const SERVICE_RIGHTS: Record<Service, ServiceRights> = {
  api: { group: 'realtime_api_service', setRoles: ['realtime_api'], replication: false, statementTimeout: true },
  gateway: { group: 'realtime_gateway_service', setRoles: [], replication: false, statementTimeout: true },
  replicator: { group: 'realtime_replicator_service', setRoles: [], replication: true, statementTimeout: false },
};

/** The login roles of the embedded cluster (an external database names its own in DATABASE_URL_*). */
export const EMBEDDED_LOGIN: Record<Service, string> = {
  api: 'realtime_api_login',
  gateway: 'realtime_gateway_login',
  replicator: 'realtime_replicator_login',
};

/** The variable naming each process's login role for an external database. */
export const LOGIN_URL_VARIABLE: Record<Service, string> = {
  api: 'DATABASE_URL_API',
  gateway: 'DATABASE_URL_GATEWAY',
  replicator: 'DATABASE_URL_REPLICATOR',
};

/** Roles no login may be: the owner's groups and realtime_api itself. */
const RESERVED = new Set(['realtime_api', ...SERVICES.map((s) => SERVICE_RIGHTS[s].group)]);

export interface LoginRole {
  service: Service;
  user: string;
  /** null: the role authenticates otherwise (certificate, peer); its password is left alone. */
  password: string | null;
}

export class RoleSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RoleSetupError';
  }
}

/**
 * The SCRAM-SHA-256 verifier Postgres would store for `password` (RFC 5802/7677), so that
 * the statement that sets it carries no password a server log or pg_stat_statements could
 * keep. Printable ASCII only: other text goes through SASLprep on the server, which this
 * does not repeat, so it is sent as it is and hashed there.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string | null {
  if (!/^[\x20-\x7e]*$/.test(password)) return null;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const attributes = (rights: ServiceRights) =>
  `LOGIN INHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE ${rights.replication ? 'REPLICATION' : 'NOREPLICATION'}`;

/**
 * Creates each login role, or brings an existing one back to exactly its attributes and
 * password, grants it its group, and gives it its statement timeout in this database.
 * Run by the owner after the migrations, under their lock. An owner that may not change a
 * role (no CREATEROLE, or REPLICATION it lacks) accepts one that an administrator made
 * fit already, and otherwise says what to run.
 */
export async function ensureLoginRoles(
  client: pg.ClientBase,
  roles: readonly LoginRole[],
  log: Logger,
  { statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS }: { statementTimeoutMs?: number } = {},
): Promise<void> {
  if (roles.length === 0) return;
  const { rows } = await client.query<{ me: string; v: number; db: string }>(`SELECT current_user AS me, current_setting('server_version_num')::int AS v, current_database() AS db`);
  const { me, v, db } = rows[0]!;
  for (const role of roles) {
    const variable = LOGIN_URL_VARIABLE[role.service];
    if (role.user === me) {
      throw new RoleSetupError(
        `${variable} names ${role.user}, the owner that runs the migrations. Give the ${role.service} a login role of its own ` +
          `(e.g. ${EMBEDDED_LOGIN[role.service]}): the owner bypasses row-level security.`,
      );
    }
    if (RESERVED.has(role.user)) {
      throw new RoleSetupError(`${variable} names ${role.user}, a group role of the schema. Name a login role of its own, e.g. ${EMBEDDED_LOGIN[role.service]}.`);
    }
    const rights = SERVICE_RIGHTS[role.service];
    const name = client.escapeIdentifier(role.user);
    const password = role.password === null ? '' : ` PASSWORD ${client.escapeLiteral(scramVerifier(role.password) ?? role.password)}`;
    try {
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.user])).rowCount;
      await client.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${name} WITH ${attributes(rights)}${password}`);
      await client.query(`GRANT ${client.escapeIdentifier(rights.group)} TO ${name}`);
      for (const target of rights.setRoles) {
        // Before 16 a membership always carries its rights; realtime_api's are then the
        // login's too, under realtime_api's policies, which is still no more than SET ROLE gives.
        await client.query(`GRANT ${client.escapeIdentifier(target)} TO ${name}${v >= 160000 ? ' WITH INHERIT FALSE, SET TRUE' : ''}`);
      }
      if (rights.statementTimeout) await client.query(setTimeoutSql(role.user, db, statementTimeoutMs));
    } catch (err) {
      if ((err as { code?: string }).code !== '42501') throw err;
      const unfit = await loginProblems(client, role, rights.statementTimeout ? statementTimeoutMs : null);
      if (unfit.length > 0) {
        throw new RoleSetupError(
          `The owner ${me} may not set up ${role.user}, the ${role.service}'s login role (${(err as Error).message}), and the role is not fit as it is: ${unfit.join('; ')}. ` +
            `Run as a superuser: CREATE ROLE ${role.user} ${attributes(rights)} PASSWORD '...'; GRANT ${rights.group} TO ${role.user};` +
            `${rights.setRoles.map((r) => ` GRANT ${r} TO ${role.user} WITH INHERIT FALSE;`).join('')}` +
            `${rights.statementTimeout ? ` ${setTimeoutSql(role.user, db, statementTimeoutMs)};` : ''} then migrate again.`,
          { cause: err },
        );
      }
      log.info({ role: role.user, service: role.service }, 'the owner may not alter this login role, which an administrator set up as it must be; left as it is');
    }
  }
}

/**
 * The role's default in this database only: each process connects fresh (or PgBouncer
 * opens a server connection) with it set, and no startup parameter or session SET is
 * needed, neither of which survives a transaction pooler.
 */
export function setTimeoutSql(user: string, database: string, ms: number): string {
  const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return `ALTER ROLE ${ident(user)} IN DATABASE ${ident(database)} SET statement_timeout = '${Math.trunc(ms)}ms'`;
}

/** What is wrong with a login role as it stands, for the owner that cannot change it. */
async function loginProblems(client: pg.ClientBase, role: LoginRole, statementTimeoutMs: number | null): Promise<string[]> {
  const rights = SERVICE_RIGHTS[role.service];
  const { rows } = await client.query<{ rolcanlogin: boolean; rolsuper: boolean; rolbypassrls: boolean; rolreplication: boolean; grouped: boolean; sets: boolean[] }>(
    `SELECT rolcanlogin, rolsuper, rolbypassrls, rolreplication, pg_has_role(oid, $2, 'USAGE') AS grouped,
            ARRAY(SELECT pg_has_role(r.oid, t, 'MEMBER') FROM unnest($3::text[]) t) AS sets
     FROM pg_roles r WHERE rolname = $1`,
    [role.user, rights.group, rights.setRoles],
  );
  const r = rows[0];
  if (!r) return ['it does not exist'];
  const problems: string[] = [];
  if (!r.rolcanlogin) problems.push('it cannot log in');
  if (r.rolsuper) problems.push('it is a superuser');
  if (r.rolbypassrls) problems.push('it bypasses row-level security');
  if (rights.replication && !r.rolreplication) problems.push('it lacks REPLICATION');
  if (!r.grouped) problems.push(`it does not hold ${rights.group}`);
  rights.setRoles.forEach((t, i) => {
    if (!r.sets[i]) problems.push(`it is no member of ${t}`);
  });
  if (statementTimeoutMs !== null) {
    const configured = await configuredTimeout(client, role.user);
    if (configured !== statementTimeoutMs) problems.push(`its statement_timeout here is ${configured === null ? 'not set' : `${configured}ms`}, not STATEMENT_TIMEOUT_MS (${statementTimeoutMs}ms)`);
  }
  return problems;
}

export interface PrivilegeReport {
  user: string;
  superuser: boolean;
  bypassRls: boolean;
  /** Owns the outbox: table owners are not subject to its row-level security either. */
  owner: boolean;
}

export async function connectedPrivileges(db: pg.ClientBase | pg.Pool): Promise<PrivilegeReport> {
  const { rows } = await db.query<PrivilegeReport>(
    `SELECT current_user AS "user", r.rolsuper AS superuser, r.rolbypassrls AS "bypassRls",
            coalesce((SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass('public.change_outbox')), false) AS owner
     FROM pg_roles r WHERE r.rolname = current_user`,
  );
  return rows[0]!;
}

/**
 * Says loudly when a process's own traffic runs with the owner's powers: any statement,
 * or one `RESET ROLE` after SET LOCAL ROLE realtime_api, could then read and write past
 * every policy. Fine for tests on a throwaway database; never for a deployment.
 */
export async function warnIfPrivileged(db: pg.Pool, service: Service, url: string, log: Logger): Promise<PrivilegeReport> {
  const report = await connectedPrivileges(db);
  if (report.superuser || report.bypassRls || report.owner) {
    const what = report.superuser ? 'a superuser' : report.bypassRls ? 'a role with BYPASSRLS' : 'the owner of the schema';
    log.warn(
      { service, role: report.user, database: redactUrl(url) },
      `the ${service} connects to Postgres as ${report.user}, ${what}: its queries are not held to row-level security or least privilege. ` +
        `Set ${LOGIN_URL_VARIABLE[service]} to a login role of its own (docs/operations.md, "Your own Postgres")`,
    );
  }
  return report;
}
