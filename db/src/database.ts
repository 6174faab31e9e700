// Which Postgres the process uses: DATABASE_URL when set, otherwise the clone's embedded
// one: reused when it runs (embedded/locate.ts decides which), else started on
// EMBEDDED_PG_PORT with its data in .data/postgres (git-ignored). And as whom: the owner
// migrates; each process's own traffic goes through its login role (roles.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbEnv } from './env';
import type { Logger } from '@realtime/runtime';
import { redactUrl } from './url';
export { redactUrl };
import pg from 'pg';
import { EmbeddedPostgresError, ensureDatabase, startCluster, unsafeDataDir, type Cluster } from './embedded/cluster';
import { anchoredDataDir, clearRecord, locateEmbedded, writeRecord, type EmbeddedPlan } from './embedded/locate';
import { embeddedUrl, fallbackDataDir, missingPasswordMessage, PASSWORD_FILE, readEmbeddedPassword } from './embedded/password';
import { blockedFor, postgresIdentity, userRoot } from './embedded/postgres-user';
import { trustedOwners, unsafeOnPath } from './embedded/own-folder';
import { embeddedRolePasswords } from './embedded/role-passwords';
import { EMBEDDED_LOGIN, LOGIN_URL_VARIABLE, SERVICES, type LoginRole, type Service } from './roles';

/** Where earlier versions kept fallback data folders, shared by every user. */
const LEGACY_ROOT = '/var/tmp/realtime-outbox';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APP_DATABASE = 'realtime';

export interface Login {
  /** Pooled or direct URL for queries. */
  url: string;
  /** Direct URL (never through PgBouncer) for replication and LISTEN. */
  directUrl: string;
  /** The variable `url` comes from, for errors that name it; none for the embedded Postgres. */
  variable?: string;
}

/**
 * `url` and `directUrl` are the owner's: migrations, demo data, operators' CLIs. Without
 * DATABASE_URL but with DATABASE_URL_* (a deployment whose owner migrates apart), they
 * are the first login's, for display only, and `migrates` is false.
 */
export interface Database extends Login {
  /** Whether this process holds the owner's URL, so runs the migrations and sets up the roles. */
  migrates: boolean;
  /** What each process connects as for its own traffic. */
  logins: Record<Service, Login>;
  /** The login roles the owner creates or updates when it migrates (runMigrations' `roles`). */
  loginRoles: LoginRole[];
  embedded: Cluster | null;
  stop(): Promise<void>;
}

/**
 * The embedded cluster's data folder. A clone under a folder the postgres user cannot
 * enter (a 0700 home) keeps its data in the running user's own folder instead, named
 * after the clone; refused when another user could have made or changed that folder.
 * Keep in step with embeddedDataDirCandidates, which drizzle.config.ts reads synchronously.
 */
export async function embeddedDataDir(env: DbEnv, log: Logger, at: { clone?: string; root?: string } = {}): Promise<string> {
  const clone = at.clone ?? repoRoot;
  const root = at.root ?? userRoot();
  if (env.EMBEDDED_PG_DIR) return anchoredDataDir(clone, env.EMBEDDED_PG_DIR);
  const preferred = path.join(clone, '.data', 'postgres');
  const blocked = await blockedFor(await postgresIdentity(), path.dirname(preferred), 'x');
  if (!blocked) return preferred;
  const fallback = fallbackDataDir(clone, root);
  // Before a server found running there, or a password file, is believed.
  const unsafe = await unsafeOnPath(root, trustedOwners());
  if (unsafe) throw unsafeDataDir(fallback, unsafe);
  log.warn(
    { preferred, fallback, blockedAt: blocked.path },
    `the postgres user cannot enter the project folder, so the embedded data lives in ${root}; set EMBEDDED_PG_DIR to choose another`,
  );
  const legacy = path.join(LEGACY_ROOT, path.basename(fallback));
  if (!existsSync(fallback) && existsSync(legacy)) {
    log.warn(
      { legacy, fallback },
      `data of an earlier version is in ${legacy}, a folder any local user could have made first, and is no longer used. ` +
        `To keep it, set EMBEDDED_PG_DIR=${legacy}: it is used if ${LEGACY_ROOT} and everything above it are root's and writable by nobody else`,
    );
  }
  return fallback;
}

/** Which embedded cluster this process would use, and whether it runs; starts nothing. */
export async function locateDatabase(env: DbEnv, log: Logger): Promise<EmbeddedPlan> {
  return locateEmbedded(repoRoot, await embeddedDataDir(env, log), { dirFromEnv: env.EMBEDDED_PG_DIR !== undefined, port: env.EMBEDDED_PG_PORT });
}

export async function openDatabase(env: DbEnv, log: Logger): Promise<Database> {
  if (env.DATABASE_URL) {
    const owner = { url: env.DATABASE_URL, directUrl: env.DATABASE_URL_DIRECT ?? env.DATABASE_URL, variable: 'DATABASE_URL' };
    return { ...owner, migrates: true, ...externalLogins(env, owner), embedded: null, stop: async () => {} };
  }
  const given = SERVICES.find((s) => env[LOGIN_URL_VARIABLE[s] as keyof DbEnv]);
  if (given) {
    const { logins, loginRoles } = externalLogins(env, null);
    log.info({ database: redactUrl(logins[given].url) }, 'no DATABASE_URL: the schema and the login roles are left to the owner (npm run db:migrate)');
    return { ...logins[given], migrates: false, logins, loginRoles, embedded: null, stop: async () => {} };
  }
  const plan = await locateDatabase(env, log);
  if (plan.kind === 'conflict') throw new EmbeddedPostgresError(plan.message);
  const { dataDir, port } = plan;
  if (plan.kind === 'reuse') {
    const password = await runningPassword(port, dataDir);
    log.info(
      { port, dataDir },
      plan.reason === 'recorded'
        ? 'using the embedded Postgres this clone already runs, on the data folder it was started with'
        : 'using the embedded Postgres that is already running (another `npm start`?)',
    );
    await ensureDatabase(embeddedUrl(port, password), APP_DATABASE);
    const url = embeddedUrl(port, password, APP_DATABASE);
    return { url, directUrl: url, migrates: true, ...(await embeddedLogins(port, dataDir)), embedded: null, stop: async () => {} };
  }
  log.info(
    { port, dataDir, ...(plan.beside ? { running: plan.beside } : {}) },
    plan.beside
      ? 'starting a second embedded Postgres, as EMBEDDED_PG_DIR and EMBEDDED_PG_PORT ask, beside the one this clone runs; it stops when this process ends'
      : 'no embedded Postgres runs on the data folder: starting one, which stops when this process ends',
  );
  const cluster = await startCluster({ dataDir, port, log });
  const place = { dataDir: cluster.dataDir, port };
  try {
    // The clone's record keeps naming the first cluster while it runs.
    if (!plan.beside) writeRecord(repoRoot, place);
  } catch (err) {
    log.warn({ err, dataDir }, 'could not record where the embedded Postgres runs; commands given other EMBEDDED_PG_* settings will not find it');
  }
  await ensureDatabase(cluster.url(), APP_DATABASE);
  const url = cluster.url(APP_DATABASE);
  return {
    url,
    directUrl: url,
    migrates: true,
    ...(await embeddedLogins(port, cluster.dataDir)),
    embedded: cluster,
    stop: async () => {
      await cluster.stop();
      clearRecord(repoRoot, place);
    },
  };
}

/**
 * DATABASE_URL_API, _GATEWAY and _REPLICATOR name the login roles; behind PgBouncer, each
 * role's direct URL is DATABASE_URL_DIRECT with that role's user and password. A process
 * whose variable is unset runs as the owner (and warns: roles.ts, warnIfPrivileged); with
 * no owner either, using that part is an error that names the variable.
 */
export function externalLogins(env: DbEnv, owner: Login | null): Pick<Database, 'logins' | 'loginRoles'> {
  const logins = {} as Record<Service, Login>;
  const loginRoles: LoginRole[] = [];
  for (const service of SERVICES) {
    const variable = LOGIN_URL_VARIABLE[service];
    const given = env[variable as keyof DbEnv] as string | undefined;
    if (!given) {
      logins[service] = owner ?? unsetLogin(variable, service);
      continue;
    }
    const parsed = new URL(given);
    if (!parsed.username) throw new Error(`${variable} names no user: write the ${service}'s login role into it, e.g. postgres://${EMBEDDED_LOGIN[service]}:PASSWORD@host:5432/realtime`);
    const direct = env.DATABASE_URL_DIRECT ? new URL(env.DATABASE_URL_DIRECT) : null;
    if (direct) {
      direct.username = parsed.username;
      direct.password = parsed.password;
    }
    logins[service] = { url: given, directUrl: direct ? direct.toString() : given, variable };
    loginRoles.push({ service, user: decodeURIComponent(parsed.username), password: parsed.password ? decodeURIComponent(parsed.password) : null });
  }
  return { logins, loginRoles };
}

function unsetLogin(variable: string, service: Service): Login {
  const missing = (): never => {
    throw new Error(`${variable} is not set, and without DATABASE_URL the ${service} has no other way in: set ${variable} to its login role's URL.`);
  };
  return {
    get url() {
      return missing();
    },
    get directUrl() {
      return missing();
    },
  };
}

/** The embedded cluster's login roles, with the passwords kept in its data folder. */
async function embeddedLogins(port: number, dataDir: string): Promise<Pick<Database, 'logins' | 'loginRoles'>> {
  const passwords = await embeddedRolePasswords(dataDir);
  const logins = {} as Record<Service, Login>;
  const loginRoles: LoginRole[] = [];
  for (const service of SERVICES) {
    const user = EMBEDDED_LOGIN[service];
    const url = `postgres://${user}:${encodeURIComponent(passwords[service])}@127.0.0.1:${port}/${APP_DATABASE}`;
    logins[service] = { url, directUrl: url };
    loginRoles.push({ service, user, password: passwords[service] });
  }
  return { logins, loginRoles };
}

/**
 * The superuser password of the server running on `dataDir`: its file's. Refused with the
 * reason when there is none or the server does not take it.
 */
async function runningPassword(port: number, dataDir: string): Promise<string> {
  const password = readEmbeddedPassword(dataDir);
  if (password === null) throw new EmbeddedPostgresError(missingPasswordMessage(dataDir));
  const client = new pg.Client({ connectionString: embeddedUrl(port, password), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new EmbeddedPostgresError(
      `An embedded Postgres runs on data folder ${dataDir} (port ${port}) but does not let us in with the password in ${path.join(dataDir, PASSWORD_FILE)}. ` +
        'Stop it (Ctrl-C in the terminal of its `npm start`) and start again, or set DATABASE_URL to a Postgres you run yourself.',
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return password;
}
