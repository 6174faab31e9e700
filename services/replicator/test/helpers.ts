// Test helpers for the replicator: real replicators, in this process or as child
// processes that can really be killed, and the checks every test makes on the outbox.
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { createTestDatabase, testLoginEnv, type TestDatabase } from '@realtime/db/testing';
import { createLogger } from '@realtime/runtime';
import { spawnMain } from '@realtime/testkit';
import { Replicator, type ReplicatorConfig } from '../src/replicator';

export const quietLog = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { service: 'test' });

export function inProcess(url: string, overrides: Partial<ReplicatorConfig> = {}): Replicator {
  return new Replicator({
    directUrl: url,
    slot: 'realtime_outbox',
    publication: 'realtime_outbox',
    batchSize: 2000,
    lingerMs: 5,
    safetyPollMs: 200,
    walRetryMs: 1000,
    log: quietLog,
    ...overrides,
  });
}

export interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The replicator's own entry point as a child process (node, not a wrapper, so a kill hits it). */
export function spawnReplicator(url: string, env: Record<string, string> = {}): Child {
  const child = spawnMain('replicator', {
    env: {
      DATABASE_URL: url,
      // Its own login role, as deployed; DATABASE_URL is the owner that migrates.
      ...testLoginEnv(url, ['replicator']),
      PORT: '0',
      DEMO: '0',
      LOG_LEVEL: 'info',
      SAFETY_POLL_MS: '200',
      WAL_RETRY_MS: '1000',
      STAMP_BATCH_SIZE: '2000',
      ...env,
    },
  });
  return { proc: child.proc, output: child.output, exited: child.exited.then((r) => r.code) };
}

import { waitFor } from '@realtime/testkit';

export { waitFor };

export async function stateOf(pool: pg.Pool): Promise<{ mode: string; leader: string | null; notify_enabled: boolean; backlog: number; head: number }> {
  const { rows } = await pool.query(`SELECT mode, leader, notify_enabled, backlog::int, coalesce(head_seq, 0)::int AS head FROM realtime_status`);
  return rows[0];
}

export async function waitForMode(pool: pg.Pool, mode: 'wal' | 'notify' | 'down', timeoutMs = 30_000): Promise<void> {
  if (mode === 'wal') {
    const { rows } = await pool.query(`SELECT current_setting('wal_level') AS level`);
    if (rows[0].level !== 'logical') {
      throw new Error(`this test needs a server with wal_level=logical, and ${rows[0].level} is set: point TEST_DATABASE_URL at one, or unset it to use the embedded Postgres`);
    }
  }
  await waitFor(`mode ${mode}`, async () => (await stateOf(pool)).mode === mode, timeoutMs);
}

/** Waits until no row is unstamped and the head has reached `count` rows. */
export async function waitForAllStamped(pool: pg.Pool, timeoutMs = 60_000): Promise<number> {
  return waitFor(
    'every outbox row to be stamped',
    async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n, count(seq)::int AS stamped FROM change_outbox`);
      return rows[0].n === rows[0].stamped ? rows[0].n || true : false;
    },
    timeoutMs,
    200,
  ).then((n) => (n === true ? 0 : (n as number)));
}

/** Contract item 2: seqs are exactly 1..N, one per row, none twice. */
export async function expectDense(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n, count(seq)::int AS stamped, count(DISTINCT seq)::int AS distinct_seqs,
            coalesce(min(seq), 0)::int AS min, coalesce(max(seq), 0)::int AS max FROM change_outbox`,
  );
  const r = rows[0];
  expect({ stamped: r.stamped, distinct: r.distinct_seqs, min: r.n ? r.min : 0, max: r.max }).toEqual({
    stamped: r.n,
    distinct: r.n,
    min: r.n ? 1 : 0,
    max: r.n,
  });
  return r.n;
}

/** Runs `writers` concurrent loops of small transactions until `total` changes are written. */
export async function writeLoad(url: string, opts: { writers: number; total: number; txSize?: number; signal?: { stop: boolean } }): Promise<number> {
  const txSize = opts.txSize ?? 5;
  let written = 0;
  const pool = new pg.Pool({ connectionString: url, max: opts.writers, application_name: 'test-writer' });
  try {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('load parent') RETURNING id`);
    const parent = rows[0]!.id;
    written++;
    await Promise.all(
      Array.from({ length: opts.writers }, async (_, w) => {
        const client = await pool.connect();
        try {
          while (written < opts.total && !opts.signal?.stop) {
            const n = Math.min(txSize, opts.total - written);
            written += n;
            await client.query('BEGIN');
            for (let i = 0; i < n; i++) {
              if (i % 3 === 2) await client.query(`UPDATE projects SET description = $1 WHERE id = $2`, [`w${w}-${written}`, parent]);
              else await client.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [parent, `w${w}-${i}.pdf`]);
            }
            await client.query('COMMIT');
          }
        } finally {
          client.release();
        }
      }),
    );
    return written;
  } finally {
    await pool.end();
  }
}

export interface Fixture {
  db: TestDatabase;
  pool: pg.Pool;
  /** Spawned replicators are killed after the file's tests. */
  spawn(env?: Record<string, string>): Child;
  track(child: Child): void;
}

/** A test file's own database, a pool on it, and child replicators cleaned up after it. */
export function useDatabase(): Fixture {
  const children: Child[] = [];
  const fx = {
    spawn(env: Record<string, string> = {}) {
      const child = spawnReplicator(fx.db.url, env);
      children.push(child);
      return child;
    },
    track(child: Child) {
      children.push(child);
    },
  } as Fixture;
  beforeAll(async () => {
    fx.db = await createTestDatabase();
    fx.pool = new pg.Pool({ connectionString: fx.db.url, max: 4 });
  });
  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await fx.pool?.end();
    await fx.db?.drop();
  });
  return fx;
}
