// Vitest global setup for the `pg` project: one Postgres for the run (a throwaway
// embedded cluster with wal_level=logical, or TEST_DATABASE_URL's server) and a migrated
// template database, from which each test file clones a throwaway database.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { loadDbEnv } from '../src/env';
import { createLogger } from '@realtime/runtime';
import { ensureDatabase, freePort, startCluster, type Cluster } from '../src/embedded/cluster';
import { runMigrations } from '../src/migrate';
import { dropDatabase, withDatabase } from './harness-sql';

import './provided';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = loadDbEnv();
  const log = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, { service: 'test-setup' });
  let cluster: Cluster | null = null;
  let tmp: string | null = null;
  let adminUrl = env.TEST_DATABASE_URL;
  if (!adminUrl) {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-test-pg-'));
    await fs.chmod(tmp, 0o755); // the postgres user must enter it
    cluster = await startCluster({
      dataDir: path.join(tmp, 'data'),
      port: await freePort(),
      throwaway: true,
      settings: { fsync: 'off', full_page_writes: 'off', max_connections: 200 },
      log,
    });
    adminUrl = cluster.url('postgres');
  }
  const template = `rt_template_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(adminUrl, template);
  await runMigrations(withDatabase(adminUrl, template), log);
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);
  project.provide('pgEmbedded', cluster !== null);

  return async () => {
    await dropDatabase(adminUrl, template).catch(() => undefined);
    await cluster?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  };
}
