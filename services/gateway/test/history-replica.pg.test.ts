// History identity (docs/replicator.md, "History identity") on the servers that lose a
// history for real, not on a data folder put back: a streaming standby that had stopped
// receiving, promoted once its primary is gone, and a point-in-time recovery from a base
// backup and archived WAL up to a restore point. Each time the replicator and the gateway
// run on the server that survives, writes go on past the lost positions, and a position
// or list cursor of the lost history gets `resync` (`history-changed`) with nothing
// replayed, while a position both histories share replays as usual.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, test } from 'vitest';
import { freePort } from '@realtime/db';
import { appendAutoConf, baseBackup, giveToPostgres, migratedDatabase, scratchFolder, startServer, startTestCluster, type Server } from '@realtime/db/testing';
import { readCursor } from '@realtime/auth';
import { FP, at, expectHistoryChanged, expectReplayFrom, follower, resume, serve as serveOn, settled, write } from './history-helpers';
import { fpAt, headSeq, secret, waitFor } from './helpers';

const run = promisify(execFile);

// Generous: a cluster or two started, a base backup, recovery and promotion.
const TIMEOUT = 300_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

const poolOf = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  // Ended before its server goes away, and again after a failure: pg refuses a second end.
  let ended = false;
  const end = pool.end.bind(pool);
  pool.end = (async () => {
    if (ended) return;
    ended = true;
    await end();
  }) as typeof pool.end;
  cleanups.push(() => pool.end());
  return pool;
};

const serve = (url: string) => serveOn(url, cleanups);

const names = async (pool: pg.Pool) => (await pool.query<{ name: string }>(`SELECT name FROM projects ORDER BY name`)).rows.map((r) => r.name);

const logicalSlots = async (pool: pg.Pool) =>
  (await pool.query<{ slot_name: string; database: string; active: boolean }>(`SELECT slot_name, database, active FROM pg_replication_slots WHERE slot_type = 'logical'`)).rows;

/** The timeline WAL is written on now (the first 8 hex digits of the current segment's name). */
const timeline = async (pool: pg.Pool) => parseInt((await pool.query<{ f: string }>(`SELECT pg_walfile_name(pg_current_wal_lsn()) AS f`)).rows[0]!.f.slice(0, 8), 16);

/** What the superuser's URL holds: a standby logs in to its primary with it. */
const conninfoOf = (url: string, applicationName: string) => {
  const u = new URL(url);
  return `host=${u.hostname} port=${u.port} user=${decodeURIComponent(u.username)} password=${decodeURIComponent(u.password)} application_name=${applicationName}`;
};

/**
 * A standby connects to the primary as a replication connection, which pg_hba.conf must
 * allow apart from database connections. initdb writes such lines for the loopback
 * addresses; a cluster without them gets one, and a reload.
 */
async function allowReplication(admin: pg.Pool, dataDir: string): Promise<void> {
  const rules = await admin.query(
    `SELECT 1 FROM pg_hba_file_rules WHERE error IS NULL AND type = 'host' AND 'replication' = ANY(database)
       AND ('all' = ANY(user_name) OR current_user = ANY(user_name)) AND (address IN ('all', 'samehost') OR '127.0.0.1'::inet <<= (address || '/' || coalesce(masklen(netmask::inet), 32))::inet)`,
  );
  if (rules.rowCount) return;
  await fs.appendFile(path.join(dataDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 scram-sha-256\n');
  await admin.query('SELECT pg_reload_conf()');
}

async function scratchRoot(): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-test-replica-'));
  await fs.chmod(root, 0o755);
  cleanups.push(() => fs.rm(root, { recursive: true, force: true }));
  return root;
}

describe('a promoted replica that had stopped receiving before the last transactions', () => {
  test(
    'a streaming standby promoted after its primary is gone: history-changed for a position and a cursor of the lost part, a normal replay before it',
    async () => {
      const primary = await startTestCluster();
      cleanups.push(() => primary.stop());
      const url = await migratedDatabase(primary, 'app');
      const pool = poolOf(url);
      const admin = poolOf(primary.url());
      await allowReplication(admin, primary.dataDir);

      let running = await serve(url);
      await write(pool, 3, 'backup');
      await settled(pool, running.gw);

      // The slot keeps the primary's WAL from before the backup's checkpoint until the
      // standby has streamed it: the backup's pg_wal is empty.
      await admin.query(`SELECT pg_create_physical_replication_slot('standby', true)`);
      const root = await scratchRoot();
      const standbyDir = path.join(root, 'standby');
      await baseBackup(primary.url(), primary.dataDir, standbyDir);
      await fs.writeFile(path.join(standbyDir, 'standby.signal'), '');
      await giveToPostgres(standbyDir);
      const standbyPort = await freePort();
      const standbySettings = { primary_conninfo: conninfoOf(primary.url(), 'standby'), primary_slot_name: 'standby' };
      let standby: Server = await startServer({ dataDir: standbyDir, port: standbyPort, settings: standbySettings });
      cleanups.push(() => standby.stop('immediate'));

      // Written once the standby streams: these reach it over the wire, not in the backup.
      await write(pool, 3, 'streamed');
      const shared = await settled(pool, running.gw);
      const a = await follower(running.gw, shared);
      const early = at(a, a.changes.length - 2);
      let spool = poolOf(standby.url('app'));
      expect((await spool.query(`SELECT pg_is_in_recovery() AS r`)).rows[0].r).toBe(true);
      const primaryLsn = (await admin.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0]!.lsn;
      await waitFor(
        'the standby to replay the primary',
        async () => (await spool.query(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok`, [primaryLsn])).rows[0].ok === true && (await headSeq(spool)) === shared,
        60_000,
      );
      expect(await names(spool)).toEqual(await names(pool));
      expect((await admin.query(`SELECT state FROM pg_stat_replication WHERE application_name = 'standby'`)).rows).toEqual([{ state: 'streaming' }]);

      // The standby stops receiving; the primary goes on, and a client sees what follows.
      await spool.end();
      await standby.stop();
      await write(pool, 4, 'lost');
      const lostHead = await settled(pool, running.gw);
      await waitFor('the client to see the lost changes', () => a.lastSeq === lostHead);
      const late = a.position;
      expect(late.fp).toMatch(FP);
      expect(late.since).toBeGreaterThan(shared);
      const lostCursor = await readCursor(secret, pool);
      a.socket.disconnect();
      await running.stop();
      await pool.end();
      await admin.end();
      await primary.crash();

      // Back up as a standby whose primary is gone, with what it had replayed; then promoted.
      standby = await startServer({ dataDir: standbyDir, port: standbyPort, settings: standbySettings });
      spool = poolOf(standby.url('app'));
      expect((await spool.query(`SELECT pg_is_in_recovery() AS r`)).rows[0].r).toBe(true);
      expect(await headSeq(spool)).toBe(shared);
      expect((await spool.query(`SELECT pg_promote(true, 60) AS ok`)).rows[0].ok).toBe(true);
      expect((await spool.query(`SELECT pg_is_in_recovery() AS r`)).rows[0].r).toBe(false);
      expect(await timeline(spool)).toBe(2);
      expect(await fs.readFile(path.join(standbyDir, 'pg_wal', '00000002.history'), 'utf8')).toMatch(/^1\t[0-9A-F]+\/[0-9A-F]+\tno recovery target specified/);
      // Slots are the primary's own and are not replicated: the replicator makes its own.
      expect(await logicalSlots(spool)).toEqual([]);

      running = await serve(standby.url('app'));
      await waitFor('the replicator streaming from a slot of its own', async () => (await logicalSlots(spool)).some((s) => s.active));
      expect(await logicalSlots(spool)).toEqual([{ slot_name: 'realtime_outbox', database: 'app', active: true }]);
      // More than was lost: the new history's seqs pass the client's position.
      await write(spool, 8, 'new');
      const head = await settled(spool, running.gw);
      expect(head).toBeGreaterThan(late.since);
      expect(await fpAt(spool, late.since)).not.toBe(late.fp);
      expect((await names(spool)).filter((n) => n.startsWith('lost'))).toEqual([]);

      expectHistoryChanged(await resume(running.gw, late));
      expectHistoryChanged(await resume(running.gw, { cursor: lostCursor }));
      expectHistoryChanged(await resume(running.gw, { ...late, cursor: lostCursor }));
      // Streamed before the standby stopped receiving: both histories have it.
      await expectReplayFrom(await resume(running.gw, early), spool, early.since);
    },
    TIMEOUT,
  );
});

describe('a point-in-time recovery', () => {
  test(
    'a base backup and archived WAL recovered to a restore point before the lost writes: history-changed for a position and a cursor of the lost part, a normal replay before it',
    async () => {
      const cluster = await startTestCluster();
      cleanups.push(() => cluster.stop());
      const url = await migratedDatabase(cluster, 'app');
      const archive = await scratchFolder(cluster.root, 'archive');
      let admin = poolOf(cluster.url());
      await admin.query(`ALTER SYSTEM SET archive_mode = 'on'`);
      await admin.query(`ALTER SYSTEM SET archive_command = 'test ! -f ${archive}/%f && cp %p ${archive}/%f'`);
      await admin.end();
      // archive_mode takes a restart.
      await cluster.restart();
      admin = poolOf(cluster.url());
      expect((await admin.query(`SHOW archive_mode`)).rows[0].archive_mode).toBe('on');
      let pool = poolOf(url);

      let running = await serve(url);
      await write(pool, 3, 'backup');
      await settled(pool, running.gw);
      const backup = path.join(cluster.root, 'backup');
      await baseBackup(cluster.url(), cluster.dataDir, backup);

      // After the backup: these come back from the archive, not from the copied files.
      await write(pool, 3, 'kept');
      const kept = await settled(pool, running.gw);
      const a = await follower(running.gw, kept);
      const early = at(a, a.changes.length - 2);
      await admin.query(`SELECT pg_create_restore_point('before-lost')`);

      await write(pool, 4, 'lost');
      const lostHead = await settled(pool, running.gw);
      await waitFor('the client to see the lost changes', () => a.lastSeq === lostHead);
      const late = a.position;
      expect(late.fp).toMatch(FP);
      expect(late.since).toBeGreaterThan(kept);
      const lostCursor = await readCursor(secret, pool);
      a.socket.disconnect();
      await running.stop();
      // The segment holding the restore point closed and archived: recovery can reach it.
      const closed = (await admin.query<{ f: string }>(`SELECT pg_walfile_name(pg_switch_wal()) AS f`)).rows[0]!.f;
      await waitFor(`segment ${closed} archived`, () => existsSync(path.join(archive, closed)), 60_000);
      await pool.end();
      await admin.end();
      await cluster.crash();

      // The server's files are lost; the base backup takes their place and replays the
      // archive up to the restore point, then opens for writes on a timeline of its own.
      await fs.rm(cluster.dataDir, { recursive: true, force: true });
      await run('cp', ['-a', backup, cluster.dataDir]);
      await fs.writeFile(path.join(cluster.dataDir, 'recovery.signal'), '');
      await appendAutoConf(cluster.dataDir, {
        restore_command: `cp ${archive}/%f %p`,
        recovery_target_name: 'before-lost',
        recovery_target_action: 'promote',
      });
      await giveToPostgres(cluster.dataDir);
      await cluster.restart();
      pool = poolOf(url);
      expect((await pool.query(`SELECT pg_is_in_recovery() AS r`)).rows[0].r).toBe(false);
      expect(await timeline(pool)).toBe(2);
      // Where timeline 1 was left: at the restore point, not at the end of the archive.
      expect(await fs.readFile(path.join(cluster.dataDir, 'pg_wal', '00000002.history'), 'utf8')).toMatch(/^1\t[0-9A-F]+\/[0-9A-F]+\tat restore point "before-lost"/);
      expect(existsSync(path.join(cluster.dataDir, 'recovery.signal'))).toBe(false);
      expect(await headSeq(pool)).toBe(kept);
      expect((await names(pool)).filter((n) => n.startsWith('lost'))).toEqual([]);
      expect((await names(pool)).filter((n) => n.startsWith('kept'))).toHaveLength(3);
      // The backup left its slots behind, as pg_basebackup does: the replicator makes one.
      expect(await logicalSlots(pool)).toEqual([]);

      running = await serve(url);
      await waitFor('the replicator streaming from a slot of its own', async () => (await logicalSlots(pool)).some((s) => s.active));
      expect(await logicalSlots(pool)).toEqual([{ slot_name: 'realtime_outbox', database: 'app', active: true }]);
      await write(pool, 8, 'new');
      const head = await settled(pool, running.gw);
      expect(head).toBeGreaterThan(late.since);
      expect(await fpAt(pool, late.since)).not.toBe(late.fp);

      expectHistoryChanged(await resume(running.gw, late));
      expectHistoryChanged(await resume(running.gw, { cursor: lostCursor }));
      expectHistoryChanged(await resume(running.gw, { ...late, cursor: lostCursor }));
      // Committed before the restore point: both histories have it.
      await expectReplayFrom(await resume(running.gw, early), pool, early.since);
    },
    TIMEOUT,
  );
});
