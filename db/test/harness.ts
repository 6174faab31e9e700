// What a *.pg.test.ts file uses: a throwaway database cloned from the migrated template,
// and extra clusters (for example one with wal_level=replica) started on demand.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createLogger } from '../src/log';
import { ensureDatabase, freePort, startCluster, type Cluster } from '../src/embedded/cluster';
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
}

/** A second, throwaway embedded cluster, e.g. `{ walLevel: 'replica' }` for NOTIFY mode. */
export async function startTestCluster(opts: { walLevel?: 'logical' | 'replica'; settings?: Record<string, string | number> } = {}): Promise<TestCluster> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-test-pg-'));
  await fs.chmod(root, 0o755);
  const cluster = await startCluster({
    dataDir: path.join(root, 'data'),
    port: await freePort(),
    walLevel: opts.walLevel ?? 'logical',
    throwaway: true,
    settings: { fsync: 'off', ...opts.settings },
    log: createLogger('warn', { service: 'test-cluster' }),
  });
  return {
    ...cluster,
    root,
    async stop() {
      await cluster.stop();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
