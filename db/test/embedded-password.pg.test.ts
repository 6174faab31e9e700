// The embedded superuser's password: generated at initialisation and kept in the data
// folder (0600); a folder made with the old well-known password is upgraded on start;
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
import { embeddedUrl, LEGACY_PASSWORD, PASSWORD_FILE, PENDING_PASSWORD_FILE, readEmbeddedPassword } from '../src/embedded/password';
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

async function setPassword(password: string): Promise<void> {
  const client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  try {
    await client.query(`ALTER USER postgres PASSWORD ${client.escapeLiteral(password)}`);
  } finally {
    await client.end();
  }
}

/** A folder as an older version left it: the well-known password and no file. */
async function makeLegacy(): Promise<void> {
  await setPassword(LEGACY_PASSWORD);
  await fs.rm(passwordFile());
}

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
    expect(await tryConnect(embeddedUrl(port, LEGACY_PASSWORD))).toBe('28P01');
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

  test('still on the well-known password (an older process runs it): used as is, not replaced under it', async () => {
    await makeLegacy();
    const db = await openDatabase(env(), log);
    try {
      expect(db.embedded).toBeNull();
      expect(new URL(db.url).password).toBe(LEGACY_PASSWORD);
      expect(await tryConnect(db.url)).toBe('ok');
      expect(readEmbeddedPassword(dataDir)).toBeNull();
    } finally {
      await db.stop();
    }
  });
});

describe('a data folder made with the well-known password', () => {
  test('gets a generated password on start', async () => {
    if (readEmbeddedPassword(dataDir) !== null) await makeLegacy();
    await cluster.stop({ keepData: true });
    cluster = await boot();

    const password = readEmbeddedPassword(dataDir);
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await fs.stat(passwordFile())).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(dataDir)).not.toContain(PENDING_PASSWORD_FILE);
    expect(await tryConnect(cluster.url())).toBe('ok');
    expect(await tryConnect(embeddedUrl(port, LEGACY_PASSWORD))).toBe('28P01');
  });

  test('a replacement stopped after ALTER USER is finished from the pending file', async () => {
    const pending = 'pending-password-already-set';
    await setPassword(pending);
    await fs.writeFile(path.join(dataDir, PENDING_PASSWORD_FILE), `${pending}\n`, { mode: 0o600 });
    await fs.rm(passwordFile());
    await cluster.stop({ keepData: true });
    cluster = await boot();

    expect(readEmbeddedPassword(dataDir)).toBe(pending);
    expect(await fs.readdir(dataDir)).not.toContain(PENDING_PASSWORD_FILE);
    expect(await tryConnect(cluster.url())).toBe('ok');
  });

  test('a password nobody knows is an error that names the fix', async () => {
    await setPassword('lost');
    await fs.rm(passwordFile());
    await cluster.stop({ keepData: true });
    await expect(boot()).rejects.toThrow(/no realtime-password file and refuses the old default password too\. If you know/);
    // Doing what the error says brings it back.
    await fs.writeFile(passwordFile(), 'lost\n', { mode: 0o600 });
    cluster = await boot();
    expect(await tryConnect(cluster.url())).toBe('ok');
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
