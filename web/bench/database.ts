// The benchmarks' database: a throwaway embedded Postgres with the migrated schema, for a
// stack started outside vitest (where the test database's template is not provided).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDatabase, freePort, runMigrations, startCluster } from '@realtime/db';
import type { Logger } from '@realtime/runtime';
import type { TestDatabase } from '@realtime/db/testing';

/** `name`: the temporary directory's prefix, so that a leftover one says which benchmark made it. */
export async function benchDatabase(name: string, log: Logger): Promise<TestDatabase> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), `realtime-${name}-`));
  await fs.chmod(root, 0o755); // the postgres user must enter it
  const cluster = await startCluster({ dataDir: path.join(root, 'data'), port: await freePort(), throwaway: true, log, settings: { fsync: 'off', max_connections: 100 } });
  try {
    await ensureDatabase(cluster.url(), 'bench');
    const url = cluster.url('bench');
    await runMigrations(url, log);
    // Once: startStack drops it itself when the server does not start.
    let dropped: Promise<void> | undefined;
    const drop = async () => {
      await cluster.stop();
      await fs.rm(root, { recursive: true, force: true });
    };
    return { name: 'bench', url, drop: () => (dropped ??= drop()) };
  } catch (err) {
    await cluster.stop();
    await fs.rm(root, { recursive: true, force: true });
    throw err;
  }
}
