// Which Postgres the process uses: DATABASE_URL when set, otherwise the clone's embedded
// one: reused when it runs (embedded/locate.ts decides which), else started on
// EMBEDDED_PG_PORT with its data in .data/postgres (git-ignored).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbEnv } from './env';
import type { Logger } from './log';
export { redactUrl } from './url';
import pg from 'pg';
import { EmbeddedPostgresError, ensureDatabase, startCluster, unsafeDataDir, type Cluster } from './embedded/cluster';
import { anchoredDataDir, clearRecord, locateEmbedded, writeRecord, type EmbeddedPlan } from './embedded/locate';
import { embeddedUrl, fallbackDataDir, LEGACY_PASSWORD, PASSWORD_FILE, readEmbeddedPassword } from './embedded/password';
import { blockedFor, postgresIdentity, userRoot } from './embedded/postgres-user';
import { trustedOwners, unsafeOnPath } from './embedded/own-folder';

/** Where earlier versions kept fallback data folders, shared by every user. */
const LEGACY_ROOT = '/var/tmp/realtime-outbox';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APP_DATABASE = 'realtime';

export interface Database {
  /** Pooled or direct URL for queries. */
  url: string;
  /** Direct URL (never through PgBouncer) for replication and LISTEN. */
  directUrl: string;
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
    return { url: env.DATABASE_URL, directUrl: env.DATABASE_URL_DIRECT ?? env.DATABASE_URL, embedded: null, stop: async () => {} };
  }
  const plan = await locateDatabase(env, log);
  if (plan.kind === 'conflict') throw new EmbeddedPostgresError(plan.message);
  const { dataDir, port } = plan;
  if (plan.kind === 'reuse') {
    const password = await runningPassword(port, dataDir, log);
    log.info(
      { port, dataDir },
      plan.reason === 'recorded'
        ? 'using the embedded Postgres this clone already runs, on the data folder it was started with'
        : 'using the embedded Postgres that is already running (another `npm start`?)',
    );
    await ensureDatabase(embeddedUrl(port, password), APP_DATABASE);
    const url = embeddedUrl(port, password, APP_DATABASE);
    return { url, directUrl: url, embedded: null, stop: async () => {} };
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
    embedded: cluster,
    stop: async () => {
      await cluster.stop();
      clearRecord(repoRoot, place);
    },
  };
}

/**
 * The superuser password of the server running on `dataDir`: its file's, or the
 * well-known one of a folder from before passwords were generated. Refused with the
 * reason when the server does not take it.
 */
async function runningPassword(port: number, dataDir: string, log: Logger): Promise<string> {
  // No file: a folder from before passwords were generated, perhaps run by an older
  // process. Its password is replaced when the folder next starts, not under that
  // process's feet, whose new connections would then fail.
  const password = readEmbeddedPassword(dataDir) ?? LEGACY_PASSWORD;
  const client = new pg.Client({ connectionString: embeddedUrl(port, password), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new EmbeddedPostgresError(
      `An embedded Postgres runs on data folder ${dataDir} (port ${port}) but does not let us in with ${password === LEGACY_PASSWORD ? 'the old default password' : `the password in ${path.join(dataDir, PASSWORD_FILE)}`}. ` +
        'Stop it (Ctrl-C in the terminal of its `npm start`) and start again, or set DATABASE_URL to a Postgres you run yourself.',
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  if (password === LEGACY_PASSWORD) {
    log.warn({ port, dataDir }, 'the running embedded Postgres still has the well-known password; it is replaced when its data folder next starts');
  }
  return password;
}
