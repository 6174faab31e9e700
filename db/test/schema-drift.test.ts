// The drizzle schema and the committed migrations agree: drizzle-kit, run with the
// project's own config against a copy of db/migrations, finds nothing to generate.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import config from '../../drizzle.config';
import { repoRoot } from '../src/database';

const run = promisify(execFile);

test('drizzle-kit generate finds nothing new to generate', async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-drift-'));
  try {
    const out = path.join(tmp, 'migrations');
    await fs.cp(path.join(repoRoot, 'db', 'migrations'), out, { recursive: true });
    const cfg = path.join(tmp, 'drizzle.config.mjs');
    // drizzle-kit reads `out` relative to its working folder, even when absolute.
    const settings = { ...config, out: path.relative(repoRoot, out) };
    await fs.writeFile(cfg, `export default ${JSON.stringify(settings)};\n`);
    const before = (await fs.readdir(out)).sort();
    const { stdout, stderr } = await run(path.join(repoRoot, 'node_modules', '.bin', 'drizzle-kit'), ['generate', `--config=${cfg}`], {
      cwd: repoRoot,
      timeout: 60_000,
    });
    expect(stdout + stderr).toMatch(/No schema changes, nothing to migrate/);
    expect((await fs.readdir(out)).sort()).toEqual(before);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}, 60_000);
