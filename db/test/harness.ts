// What a *.pg.test.ts file uses: a throwaway database cloned from the migrated template,
// and extra clusters (for example one with wal_level=replica) started on demand.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import pg from 'pg';
import './provided';
import { createLogger } from '../src/log';
import { ensureDatabase, freePort, startCluster, type Cluster } from '../src/embedded/cluster';
import { runMigrations } from '../src/migrate';
import { dropDatabase, withDatabase } from './harness-sql';

export { withDatabase, dropDatabase };

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `rt_test_${randomBytes(5).toString('hex')}`;
  await ensureDatabase(adminUrl, name, inject('pgTemplate'));
  return { name, url: withDatabase(adminUrl, name), drop: () => dropDatabase(adminUrl, name) };
}

export interface TestCluster extends Cluster {
  /** Folder holding the data folder; removed on stop. */
  root: string;
  /** Stop and start again on the same data and port, e.g. with another wal_level. */
  restart(opts?: { walLevel?: 'logical' | 'replica' }): Promise<void>;
}

/** A second, throwaway embedded cluster, e.g. `{ walLevel: 'replica' }` for NOTIFY mode. */
export async function startTestCluster(opts: { walLevel?: 'logical' | 'replica'; settings?: Record<string, string | number> } = {}): Promise<TestCluster> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-test-pg-'));
  await fs.chmod(root, 0o755);
  const port = await freePort();
  const boot = (walLevel: 'logical' | 'replica') =>
    startCluster({
      dataDir: path.join(root, 'data'),
      port,
      walLevel,
      throwaway: true,
      settings: { fsync: 'off', ...opts.settings },
      log: createLogger('warn', { service: 'test-cluster' }),
    });
  let cluster = await boot(opts.walLevel ?? 'logical');
  return {
    port,
    root,
    get dataDir() {
      return cluster.dataDir;
    },
    url: (database?: string) => cluster.url(database),
    async restart(restartOpts = {}) {
      await cluster.stop({ keepData: true });
      cluster = await boot(restartOpts.walLevel ?? opts.walLevel ?? 'logical');
    },
    async stop() {
      await cluster.stop();
      await fs.rm(root, { recursive: true, force: true });
    },
    // The data stays: restart() recovers it as after a power cut.
    crash: () => cluster.crash(),
  };
}

/** A migrated database named `name` on a test cluster. */
export async function migratedDatabase(cluster: Cluster, name = 'app'): Promise<string> {
  await ensureDatabase(cluster.url(), name);
  const url = cluster.url(name);
  await runMigrations(url, createLogger('silent'));
  return url;
}

/** A test file's own database and a small pool on it, dropped after the file. */
export function useTestDatabase(): { db: TestDatabase; pool: pg.Pool } {
  const fx = {} as { db: TestDatabase; pool: pg.Pool };
  beforeAll(async () => {
    fx.db = await createTestDatabase();
    fx.pool = new pg.Pool({ connectionString: fx.db.url, max: 2 });
  });
  afterAll(async () => {
    await fx.pool?.end();
    await fx.db?.drop();
  });
  return fx;
}
