// `npm run test:repeat -- N`: the whole `npm test` N times in a row (turbo with
// --continue, so that a failure does not hide the packages after it). Every run's output
// and every workspace's vitest report are kept in .reports/test-repeat/<time>/run-<i>/;
// at the end, one line per test that failed in any run, with the runs it failed in.
// Exits 1 if any run failed.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot, runFailures, summarize, type Failure, type VitestReport } from '@realtime/testkit';

const usage = 'usage: npm run test:repeat -- N (how many runs of `npm test`, 1..100)';
const n = Number(process.argv[2] ?? '');
if (!Number.isInteger(n) || n < 1 || n > 100) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

/** Every workspace folder and its package name, from the root package.json's globs. */
function workspaces(): { dir: string; pkg: string }[] {
  const globs = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  const dirs = globs.flatMap((g) => (g.endsWith('/*') ? readdirSync(path.join(repoRoot, g.slice(0, -2))).map((d) => path.join(g.slice(0, -2), d)) : [g]));
  return dirs
    .filter((d) => existsSync(path.join(repoRoot, d, 'package.json')))
    .map((dir) => ({ dir, pkg: (JSON.parse(readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as { name: string }).name }));
}

/** One `npm test`, its output teed into `log`; resolves with the output and exit code. */
function runOnce(log: string): Promise<{ output: string; code: number }> {
  return new Promise((resolve, reject) => {
    const file = createWriteStream(log);
    let output = '';
    const child = spawn('npm', ['test', '--', '--continue'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (d: Buffer) => {
        output += d.toString();
        file.write(d);
        process.stdout.write(d);
      });
    }
    child.on('error', reject);
    child.on('close', (code) => file.end(() => resolve({ output, code: code ?? 1 })));
  });
}

const spaces = workspaces();
const folder = path.join(repoRoot, '.reports', 'test-repeat', new Date().toISOString().replace(/[:.]/g, '-'));
await fs.mkdir(folder, { recursive: true });
const runs: Failure[][] = [];
for (let i = 1; i <= n; i++) {
  const dir = path.join(folder, `run-${i}`);
  await fs.mkdir(dir);
  // A report left by an earlier run must not stand for this one's.
  for (const w of spaces) await fs.rm(path.join(repoRoot, w.dir, '.reports', 'vitest.json'), { force: true });
  process.stdout.write(`\ntest:repeat: run ${i} of ${n}, log in ${path.relative(repoRoot, dir)}\n`);
  const { output, code } = await runOnce(path.join(dir, 'output.log'));
  const reports: { pkg: string; report: VitestReport }[] = [];
  for (const w of spaces) {
    const file = path.join(repoRoot, w.dir, '.reports', 'vitest.json');
    if (!existsSync(file)) continue;
    await fs.copyFile(file, path.join(dir, `${w.pkg.replace(/[@/]/g, '_')}.json`));
    reports.push({ pkg: w.pkg, report: JSON.parse(await fs.readFile(file, 'utf8')) as VitestReport });
  }
  const failures = runFailures(reports, output, repoRoot);
  // A run that exited non-zero with nothing found is a failure too (turbo refused to start).
  if (code !== 0 && !failures.length) failures.push({ pkg: '(npm test)', file: '-', test: `exited ${code} with no failed test or task found: read the run's log` });
  runs.push(failures);
}

const lines = summarize(runs);
process.stdout.write(`\ntest:repeat: ${n} runs of npm test, logs in ${path.relative(repoRoot, folder)}\n`);
process.stdout.write(lines.length ? `${lines.join('\n')}\n` : 'no test failed in any run\n');
process.exit(lines.length ? 1 : 0);
