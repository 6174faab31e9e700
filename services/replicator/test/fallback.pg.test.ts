// NOTIFY mode and the way back: a server without logical replication is served by
// LISTEN and scans; once wal_level=logical is there the replicator returns to WAL (slot
// first, then scan, then stream), and a slot dropped under it is survived. Every row is
// stamped once, 1..N, across all the switches.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, migratedDatabase, startTestCluster, type TestCluster } from '@realtime/db/testing';
import type { Replicator } from '../src/replicator';
import { expectDense, inProcess, stateOf, waitFor, waitForAllStamped, waitForMode, writeLoad } from './helpers';

let cluster: TestCluster;
let url: string;
let replicator: Replicator | null = null;

beforeAll(async () => {
  cluster = await startTestCluster({ walLevel: 'replica' });
  url = await migratedDatabase(cluster);
});
afterAll(async () => {
  await replicator?.stop();
  await cluster?.stop();
});

const withPool = async <T>(fn: (pool: pg.Pool) => Promise<T>): Promise<T> => {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
};

/**
 * A test database and a login role of its own on it (with or without REPLICATION), for
 * a replicator that loses or gains the WAL as an operator changes the role. Dropped after.
 */
async function withRole(replication: boolean, fn: (ctx: { admin: pg.Pool; dbUrl: string; role: string; roleUrl: string }) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  const role = `rt_role_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' ${replication ? 'REPLICATION' : 'NOREPLICATION'}`);
    await admin.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
    await admin.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    const u = new URL(db.url);
    u.username = role;
    u.password = 'pw';
    await fn({ admin, dbUrl: db.url, role, roleUrl: u.toString() });
  } finally {
    await admin.end();
    await db.drop();
    const c = new pg.Client({ connectionString: db.url.replace(/\/[^/]*$/, '/postgres') });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${role}`);
    await c.end();
  }
}

test('NOTIFY mode on wal_level=replica, WAL after a restart with logical, and a dropped slot survived', async () => {
  // Poll and probe are a minute apart: anything stamped sooner was woken by NOTIFY.
  replicator = inProcess(url, { walRetryMs: 60_000, safetyPollMs: 60_000 });
  const seen: number[] = [];
  replicator.onStamped((changes) => seen.push(...changes.map((c) => c.seq)));
  await replicator.start();

  await withPool(async (pool) => {
    await waitForMode(pool, 'notify');
    const state = await stateOf(pool);
    expect(state.notify_enabled).toBe(true);
    const { rows } = await pool.query(`SELECT reason FROM realtime_state`);
    expect(rows[0].reason).toMatch(/wal_level is replica/);
    await pool.query(`INSERT INTO projects (name) VALUES ('woken')`);
    await waitForAllStamped(pool, 30_000);
    await writeLoad(url, { writers: 4, total: 2000 });
    await waitForAllStamped(pool);
    await expectDense(pool);
  });

  // The operator turns logical replication on (a restart); the replicator reconnects and
  // finds WAL available.
  await cluster.restart({ walLevel: 'logical' });
  await withPool(async (pool) => {
    await waitForMode(pool, 'wal', 60_000);
    expect((await stateOf(pool)).notify_enabled).toBe(false);
    await writeLoad(url, { writers: 4, total: 2000 });
    await waitForAllStamped(pool);
    await expectDense(pool);
  });

  // The slot disappears under a running replicator while writers write.
  await withPool(async (pool) => {
    const signal = { stop: false };
    const load = writeLoad(url, { writers: 2, total: 1_000_000, signal });
    await new Promise((r) => setTimeout(r, 300));
    await waitFor('the slot to be dropped', async () => {
      await pool.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL`);
      const { rows } = await pool.query(
        `SELECT pg_drop_replication_slot(slot_name) IS NOT NULL AS dropped FROM pg_replication_slots WHERE slot_name = 'realtime_outbox' AND active_pid IS NULL`,
      );
      return rows[0]?.dropped === true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    signal.stop = true;
    await load;
    await waitForMode(pool, 'wal', 60_000);
    await waitForAllStamped(pool);
    const n = await expectDense(pool);
    expect(n).toBeGreaterThan(4000);
    // In-process delivery saw each seq once and in order, across every switch.
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });
});

test('a role without REPLICATION runs in NOTIFY mode and moves to WAL once it is granted', async () => {
  await withRole(false, async ({ admin, dbUrl, role, roleUrl }) => {
    const r = inProcess(roleUrl, { walRetryMs: 500, safetyPollMs: 200 });
    try {
      await r.start();
      await waitForMode(admin, 'notify');
      const { rows } = await admin.query(`SELECT reason FROM realtime_state`);
      expect(rows[0].reason).toMatch(/REPLICATION/);
      await writeLoad(dbUrl, { writers: 2, total: 500 });
      await waitForAllStamped(admin);

      await admin.query(`ALTER ROLE ${role} REPLICATION`);
      await waitForMode(admin, 'wal');
      expect((await stateOf(admin)).notify_enabled).toBe(false);
      await writeLoad(dbUrl, { writers: 2, total: 500 });
      await waitForAllStamped(admin);
      expect(await expectDense(admin)).toBeGreaterThanOrEqual(1000);
    } finally {
      await r.stop();
    }
  });
});

test('a slot name taken by another database is named in the reason, and the stream goes on in NOTIFY mode', async () => {
  const one = await createTestDatabase();
  const two = await createTestDatabase();
  const pools = [one, two].map((d) => new pg.Pool({ connectionString: d.url, max: 2 }));
  const replicators = [inProcess(one.url), inProcess(two.url, { walRetryMs: 60_000 })];
  try {
    await replicators[0]!.start();
    await waitForMode(pools[0]!, 'wal');
    await replicators[1]!.start();
    await waitForMode(pools[1]!, 'notify');
    const { rows } = await pools[1]!.query(`SELECT reason FROM realtime_state`);
    expect(rows[0].reason).toMatch(new RegExp(`belongs to database "${one.name}".*REPLICATION_SLOT`));
    await pools[1]!.query(`INSERT INTO projects (name) VALUES ('still streamed')`);
    await waitForAllStamped(pools[1]!);
    expect(await expectDense(pools[1]!)).toBe(1);
  } finally {
    for (const r of replicators) await r.stop();
    for (const p of pools) await p.end();
    await one.drop();
    await two.drop();
  }
});

test('a role that loses REPLICATION while streaming falls back to NOTIFY, and gets WAL back once it is granted again', async () => {
  await withRole(true, async ({ admin, dbUrl, role, roleUrl }) => {
    const r = inProcess(roleUrl, { walRetryMs: 500, safetyPollMs: 200 });
    try {
      await r.start();
      await waitForMode(admin, 'wal');
      await writeLoad(dbUrl, { writers: 2, total: 300 });

      // Taken away mid-stream: the slot stays behind, since dropping it needs REPLICATION too.
      await admin.query(`ALTER ROLE ${role} NOREPLICATION`);
      await admin.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL`);
      await waitForMode(admin, 'notify');
      await writeLoad(dbUrl, { writers: 2, total: 300 });
      await waitForAllStamped(admin);
      const { rows: stale } = await admin.query(`SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = current_database()`);
      expect(stale[0].n).toBe(1);

      await admin.query(`ALTER ROLE ${role} REPLICATION`);
      await waitForMode(admin, 'wal');
      await writeLoad(dbUrl, { writers: 2, total: 300 });
      await waitForAllStamped(admin);
      expect(await expectDense(admin)).toBe(900);
    } finally {
      await r.stop();
    }
  });
});
