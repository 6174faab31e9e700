// Which Postgres the process uses: DATABASE_URL when set, otherwise the embedded one,
// started on EMBEDDED_PG_PORT with its data in .data/postgres (git-ignored).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbEnv } from './env';
import type { Logger } from './log';
export { redactUrl } from './url';
import pg from 'pg';
import { ensureDatabase, portInUse, startCluster, type Cluster } from './embedded/cluster';
import { embeddedUrl, LEGACY_PASSWORD, readEmbeddedPassword, sharedDataDir } from './embedded/password';
import { blockedFor, postgresIdentity } from './embedded/postgres-user';

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
 * enter (a 0700 home) keeps its data in a shared folder named after the clone instead.
 * Keep in step with embeddedDataDirCandidates, which drizzle.config.ts reads synchronously.
 */
export async function embeddedDataDir(env: DbEnv, log: Logger): Promise<string> {
  if (env.EMBEDDED_PG_DIR) return path.resolve(env.EMBEDDED_PG_DIR);
  const preferred = path.join(repoRoot, '.data', 'postgres');
  const blocked = await blockedFor(await postgresIdentity(), path.dirname(preferred), 'x');
  if (!blocked) return preferred;
  const fallback = sharedDataDir(repoRoot);
  log.warn(
    { preferred, fallback, blockedAt: blocked.path },
    'the postgres user cannot enter the project folder, so the embedded data lives in a shared folder; set EMBEDDED_PG_DIR to choose another',
  );
  return fallback;
}

export async function openDatabase(env: DbEnv, log: Logger): Promise<Database> {
  if (env.DATABASE_URL) {
    return { url: env.DATABASE_URL, directUrl: env.DATABASE_URL_DIRECT ?? env.DATABASE_URL, embedded: null, stop: async () => {} };
  }
  const dataDir = await embeddedDataDir(env, log);
  const password = await alreadyRunning(env.EMBEDDED_PG_PORT, dataDir, log);
  if (password !== null) {
    log.info({ port: env.EMBEDDED_PG_PORT, dataDir }, 'using the embedded Postgres that is already running (another `npm start`?)');
    await ensureDatabase(embeddedUrl(env.EMBEDDED_PG_PORT, password), APP_DATABASE);
    const url = embeddedUrl(env.EMBEDDED_PG_PORT, password, APP_DATABASE);
    return { url, directUrl: url, embedded: null, stop: async () => {} };
  }
  const cluster = await startCluster({ dataDir, port: env.EMBEDDED_PG_PORT, log });
  await ensureDatabase(cluster.url(), APP_DATABASE);
  const url = cluster.url(APP_DATABASE);
  return { url, directUrl: url, embedded: cluster, stop: () => cluster.stop() };
}

/**
 * The superuser password when our embedded cluster (the data folder's password works)
 * already listens on the port; null when nothing or something else holds the port.
 */
async function alreadyRunning(port: number, dataDir: string, log: Logger): Promise<string | null> {
  if (!(await portInUse(port))) return null;
  // No file: a folder from before passwords were generated, perhaps run by an older
  // process. Its password is replaced when the folder next starts, not under that
  // process's feet, whose new connections would then fail.
  const password = readEmbeddedPassword(dataDir) ?? LEGACY_PASSWORD;
  const client = new pg.Client({ connectionString: embeddedUrl(port, password), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch {
    return null; // something else holds the port: startCluster names it
  } finally {
    await client.end().catch(() => undefined);
  }
  if (password === LEGACY_PASSWORD) {
    log.warn({ port, dataDir }, 'the running embedded Postgres still has the well-known password; it is replaced when its data folder next starts');
  }
  return password;
}
