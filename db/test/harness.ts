// What a *.pg.test.ts file uses: a throwaway database cloned from the migrated template,
// and extra clusters (for example one with wal_level=replica) started on demand.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import pg from 'pg';
import './provided';
import { createLogger } from '@realtime/runtime';
import { ensureDatabase, freePort, startCluster, type Cluster } from '../src/embedded/cluster';
import { runMigrations } from '../src/migrate';
import { dropDatabase, testLoginEnv, withDatabase } from './harness-sql';

export { withDatabase, dropDatabase, testLoginEnv };
export { appendAutoConf, baseBackup, giveToPostgres, scratchFolder, startServer, type BaseBackup, type Server } from './replication';

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

export interface HeldStamps {
  /** The session holding the lock (its backend is not one to terminate). */
  pid: number;
  /** Lets the waiting stamps go on, and removes the trigger. */
  release(): Promise<void>;
}

/**
 * Makes every stamp statement wait until `release()`: a test trigger on the outbox takes
 * an advisory lock this session holds. Changes can then be seen going out before their
 * stamp, and a leader killed while its stamp waits.
 */
export async function holdStamps(pool: pg.Pool, key = 4242): Promise<HeldStamps> {
  await pool.query(`CREATE FUNCTION test_hold_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_advisory_xact_lock(${Number(key)}); RETURN NEW; END $$`);
  await pool.query(`CREATE TRIGGER test_hold_stamp BEFORE UPDATE OF seq ON change_outbox FOR EACH ROW EXECUTE FUNCTION test_hold_stamp()`);
  const holder = await pool.connect();
  await holder.query('SELECT pg_advisory_lock($1)', [key]);
  const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return {
    pid: rows[0]!.pid,
    async release() {
      await holder.query('SELECT pg_advisory_unlock($1)', [key]);
      holder.release();
      await pool.query(`DROP TRIGGER test_hold_stamp ON change_outbox`);
      await pool.query(`DROP FUNCTION test_hold_stamp()`);
    },
  };
}

/**
 * Two transactions of `n` projects each, named `<first>1..n` and `<second>1..n`: the
 * first inserts first (lower outbox ids) but the second commits first, so commit order
 * and id order differ.
 */
export async function commitOutOfIdOrder(pool: pg.Pool, n: number, first: string, second: string): Promise<void> {
  const a = await pool.connect();
  const b = await pool.connect();
  try {
    await a.query('BEGIN');
    await a.query(`INSERT INTO projects (name) SELECT $1 || g FROM generate_series(1, $2::int) g`, [first, n]);
    await b.query(`INSERT INTO projects (name) SELECT $1 || g FROM generate_series(1, $2::int) g`, [second, n]);
    await a.query('COMMIT');
  } finally {
    a.release();
    b.release();
  }
}
