// A real PgBouncer for tests, started on a free port with its own config and auth file in
// a folder of its own: transaction pooling, otherwise PgBouncer's defaults. Debian's
// package (`apt-get install -y pgbouncer`) is what .ci/run installs when it is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '@realtime/db';
import { waitFor } from '@realtime/gateway/test-helpers';

export interface PgBouncer {
  port: number;
  /** `url` (a direct Postgres URL) with PgBouncer's host and port instead. */
  pooled(url: string): string;
  /** Everything PgBouncer has logged (it logs to stderr when not daemonized). */
  log(): string;
  stop(): Promise<void>;
}

const PLACES = ['/usr/sbin/pgbouncer', '/usr/local/sbin/pgbouncer', '/usr/local/bin/pgbouncer', '/opt/homebrew/bin/pgbouncer', '/usr/bin/pgbouncer'];

export function pgbouncerBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).stdout.trim();
  const binary = found || PLACES.find((p) => existsSync(p));
  if (!binary) {
    throw new Error(
      'pgbouncer is not installed, and this test runs `npm start` behind a real one: ' +
        'install it with `apt-get install -y pgbouncer` (Debian, Ubuntu; .ci/run does this) or `brew install pgbouncer` (macOS), then run the test again.',
    );
  }
  return binary;
}

/** PgBouncer's auth_file quotes a name or password in double quotes, doubling any inside. */
const quoted = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * PgBouncer in front of the Postgres of `directUrl` (every database of it, by name), letting
 * in the users of `logins` (direct URLs carrying user and password). It refuses to run as
 * root: as root it is started as the postgres user, which then owns its folder.
 */
export async function startPgBouncer(directUrl: string, logins: readonly string[]): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  const server = new URL(directUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realtime-pgbouncer-'));
  const port = await freePort();
  const users = new Map<string, string>();
  for (const login of logins) {
    const u = new URL(login);
    users.set(decodeURIComponent(u.username), decodeURIComponent(u.password));
  }
  const authFile = path.join(dir, 'userlist.txt');
  writeFileSync(authFile, [...users].map(([user, password]) => `${quoted(user)} ${quoted(password)}\n`).join(''), { mode: 0o600 });
  const ini = path.join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      // No Unix socket: several PgBouncers (parallel test files) would share /tmp's name space.
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${authFile}`,
      'pool_mode = transaction',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const [uid, gid] = [id('-u'), id('-g')];
    if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, PgBouncer needs the postgres user to run as (it refuses root): `apt-get install -y pgbouncer` creates it');
    for (const f of [dir, authFile, ini]) chownSync(f, uid, gid);
    chmodSync(dir, 0o700);
  }
  const proc: ChildProcess = spawn(binary, root ? ['-u', 'postgres', ini] : [ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const pooled = (url: string) => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    return u.toString();
  };
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Ready when a query through it is answered (it connects to Postgres only then).
    await waitFor('PgBouncer to answer', async () => {
      if (proc.exitCode !== null) throw new Error(`pgbouncer exited (${proc.exitCode}): ${out}`);
      const client = new pg.Client({ connectionString: pooled(directUrl), connectionTimeoutMillis: 2000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    }, 30_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\npgbouncer's log:\n${out}`, { cause: err });
  }
  return { port, pooled, log: () => out, stop };
}
