// The embedded superuser's password: generated at initialisation and kept in the data
// folder (0600); a folder without that file is refused with the fix, not guessed at;
// `openDatabase` and `npm run db:url` find the password where `npm start` keeps it, and
// the login roles of the parts get generated passwords kept beside it.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createLogger } from '@realtime/runtime';
import { loadDbEnv } from '../src/env';
import { APP_DATABASE, openDatabase, repoRoot } from '../src/database';
import { freePort, startCluster, type Cluster } from '../src/embedded/cluster';
import { embeddedUrl, PASSWORD_FILE, readEmbeddedPassword } from '../src/embedded/password';
import { ROLE_PASSWORDS_FILE } from '../src/embedded/role-passwords';
import { runMigrations } from '../src/migrate';
import { EMBEDDED_LOGIN, SERVICES } from '../src/roles';

const run = promisify(execFile);
const log = createLogger('silent');

let root: string;
let dataDir: string;
let port: number;
let cluster: Cluster;

const boot = () => startCluster({ dataDir, port, throwaway: true, settings: { fsync: 'off' }, log });
const passwordFile = () => path.join(dataDir, PASSWORD_FILE);

/** 'ok', or the error code the server answered with (28P01: wrong password). */
async function tryConnect(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The superuser's password as the server has it now, whatever the file says. */
let current: string;

async function setPassword(password: string): Promise<void> {
  const client = new pg.Client({ connectionString: embeddedUrl(port, current) });
  await client.connect();
  try {
    await client.query(`ALTER USER postgres PASSWORD ${client.escapeLiteral(password)}`);
    current = password;
  } finally {
    await client.end();
  }
}

/** The password initdb's default setups (and this project's first versions) gave the superuser. */
const WELL_KNOWN = 'postgres';

/** A folder as a version before generated passwords left it: the well-known password and no file. */
async function makeOld(): Promise<void> {
  await setPassword(WELL_KNOWN);
  await fs.rm(passwordFile());
}

const missingFile = /holds a cluster but no realtime-password file.*Write that password into .*realtime-password.*"postgres"/s;

const env = () => loadDbEnv({ EMBEDDED_PG_PORT: String(port), EMBEDDED_PG_DIR: dataDir, LOG_LEVEL: 'silent' });

function dbUrlCli(extraEnv: Record<string, string>) {
  return run(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), [path.join(repoRoot, 'db', 'src', 'cli', 'url.ts')], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: '', EMBEDDED_PG_PORT: String(port), ...extraEnv },
  });
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-password-pg-'));
  await fs.chmod(root, 0o755); // the postgres user must enter it
  dataDir = path.join(root, 'data');
  port = await freePort();
  cluster = await boot();
  current = readEmbeddedPassword(dataDir)!;
});

afterAll(async () => {
  await cluster?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

describe('a new cluster', () => {
  test('keeps a generated password in a 0600 file; the well-known one is refused', async () => {
    const stat = await fs.stat(passwordFile());
    expect(stat.mode & 0o777).toBe(0o600);
    const password = readEmbeddedPassword(dataDir);
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cluster.url()).toBe(embeddedUrl(port, password!));
    expect(await tryConnect(cluster.url())).toBe('ok');
    expect(await tryConnect(embeddedUrl(port, WELL_KNOWN))).toBe('28P01');
  });
});

describe('a running cluster', () => {
  test('openDatabase reuses it with the password from its data folder', async () => {
    const db = await openDatabase(env(), log);
    try {
      expect(db.embedded).toBeNull();
      expect(db.url).toBe(cluster.url(APP_DATABASE));
      expect(await tryConnect(db.url)).toBe('ok');
    } finally {
      await db.stop();
    }
  });

  test('each part gets a login role whose generated password is kept 0600 in the data folder; once migrated, each connects as itself', async () => {
    const db = await openDatabase(env(), log);
    try {
      await runMigrations(db.url, log, { roles: db.loginRoles });
      const file = path.join(dataDir, ROLE_PASSWORDS_FILE);
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      const kept = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, string>;
      for (const service of SERVICES) {
        const url = new URL(db.logins[service].url);
        expect(url.username).toBe(EMBEDDED_LOGIN[service]);
        expect(decodeURIComponent(url.password)).toBe(kept[service]);
        expect(kept[service]).not.toBe(readEmbeddedPassword(dataDir));
        const client = new pg.Client({ connectionString: db.logins[service].url });
        await client.connect();
        try {
          const { rows } = await client.query(`SELECT current_user AS me, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`);
          expect(rows).toEqual([{ me: EMBEDDED_LOGIN[service], rolsuper: false, rolbypassrls: false }]);
        } finally {
          await client.end();
        }
      }
      // Another process on the same folder uses the same passwords, not new ones.
      const again = await openDatabase(env(), log);
      expect(again.logins).toEqual(db.logins);
      await again.stop();
    } finally {
      await db.stop();
    }
  });

  test('`npm run db:url` prints its app database URL alone on stdout', async () => {
    const { stdout, stderr } = await dbUrlCli({ EMBEDDED_PG_DIR: dataDir });
    expect(stdout).toBe(`${cluster.url(APP_DATABASE)}\n`);
    expect(stderr).toMatch(/answers \(Postgres \d+/);
    expect(stderr).not.toContain(readEmbeddedPassword(dataDir));
  });

  test('`npm run db:url` without a password file names the fix and exits 1', async () => {
    const empty = path.join(root, 'empty');
    const failed = await dbUrlCli({ EMBEDDED_PG_DIR: empty }).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toBe('');
    expect(failed?.stderr).toMatch(/no password yet .*empty\/realtime-password.*Run `npm start` \(or `npm run db:migrate`\) once first/s);
  });

  test('without its password file (an older version made it): refused with the fix, the password not guessed', async () => {
    await makeOld();
    await expect(openDatabase(env(), log)).rejects.toThrow(missingFile);
    // Doing what the error says lets it in.
    await fs.writeFile(passwordFile(), `${WELL_KNOWN}\n`, { mode: 0o600 });
    const db = await openDatabase(env(), log);
    try {
      expect(await tryConnect(db.url)).toBe('ok');
    } finally {
      await db.stop();
    }
    const fresh = 'fresh-password-after-the-fix';
    await setPassword(fresh);
    await fs.writeFile(passwordFile(), `${fresh}\n`, { mode: 0o600 });
  });
});

describe('a data folder without its password file', () => {
  test('does not start: the error names the fix, and doing it brings the cluster back', async () => {
    await makeOld();
    await cluster.stop({ keepData: true });
    await expect(boot()).rejects.toThrow(missingFile);
    await fs.writeFile(passwordFile(), `${WELL_KNOWN}\n`, { mode: 0o600 });
    cluster = await boot();
    expect(await tryConnect(cluster.url())).toBe('ok');
    expect(readEmbeddedPassword(dataDir)).toBe(WELL_KNOWN);
  });
});

describe('no cluster running', () => {
  test('openDatabase starts the same data folder with its password', async () => {
    const password = readEmbeddedPassword(dataDir);
    await cluster.stop({ keepData: true });
    const db = await openDatabase(env(), log);
    try {
      expect(db.embedded?.dataDir).toBe(dataDir);
      expect(db.url).toBe(embeddedUrl(port, password!, APP_DATABASE));
      expect(await tryConnect(db.url)).toBe('ok');
    } finally {
      await db.stop();
    }
    cluster = await boot();
  });
});
