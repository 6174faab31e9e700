// Ctrl-C in the terminal of `npm start`: the terminal sends SIGINT to the whole
// foreground process group, so npm, sh, the app and the embedded Postgres (its child)
// all get it at once, and Postgres begins its own fast shutdown while the app is still
// stopping. The app must take the connections it loses then as expected: no line at warn
// or above once stopping, no stack trace, no Postgres left, and exit 0 (a handled signal
// and a clean stop, as for SIGTERM). npm itself, which got the same SIGINT, waits for the
// app and then ends by that signal, which a shell reports as the conventional 130: that
// is npm's doing, and what `npm start` shows. Each run has its own embedded cluster (not
// the test harness's): that is the one Ctrl-C reaches.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort } from '@realtime/db';
import { waitFor } from '@realtime/gateway/test-helpers';
import { MAINS, repoRoot } from '@realtime/testkit';


/** pids of the processes whose command line names the data folder (the postmaster and its children). */
function postgresOf(dataDir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.split('\0').includes(dataDir)) found.push(Number(entry));
  }
  // A backend's command line is its title (`postgres: ...`): children of the postmaster.
  return found;
}

const tmps: string[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  // Whatever a failed run left goes, so that it does not leak a cluster.
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const tmp of tmps) {
    for (const pid of postgresOf(path.join(tmp, 'data'))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await fs.rm(tmp, { recursive: true, force: true });
  }
});

interface Run {
  result: { code: number | null; signal: NodeJS.Signals | null };
  lines: { level: number; msg: string; component?: string; err?: { message?: string } }[];
  stdout: string;
  stderr: string;
  dataDir: string;
}

/** Starts `command` in a process group of its own, waits until it streams, sends SIGINT to the group and waits for the exit. */
async function interrupt(command: string, args: string[]): Promise<Run> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-ctrl-c-'));
  tmps.push(tmp);
  await fs.chmod(tmp, 0o755); // the postgres user (when root runs this) must enter it
  const dataDir = path.join(tmp, 'data');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EMBEDDED_PG_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    PORT: '0',
    DEMO: '1', // the simulator writes while it stops, as in a developer's run
    SIMULATOR_INTERVAL_MS: '100',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    REALTIME_JWT_SECRET: 'c2f1d7a9e04b6385f1a2c3d4e5f60718293a4b5c6d7e8f90',
  };
  for (const name of ['DATABASE_URL', 'DATABASE_URL_DIRECT', 'TEST_DATABASE_URL']) delete env[name];
  const child = spawn(command, args, { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': 'exit' can come while the pipe still holds the last lines.
  const exited = new Promise<Run['result']>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));

  const port = await waitFor(
    'the banner',
    () => {
      if (child.exitCode !== null) throw new Error(`${command} exited: ${stdout}\n${stderr}`);
      return /Open http:\/\/localhost:(\d+)/.exec(stdout)?.[1];
    },
    90_000,
  );
  // Ready means streaming: the replicator leads and the gateway runs.
  await waitFor('/healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok || undefined, 60_000);
  expect(postgresOf(dataDir).length).toBeGreaterThan(0);

  process.kill(-child.pid!, 'SIGINT');
  const result = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit 30 s after SIGINT:\n${stdout}\n${stderr}`)), 30_000))]);
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Run['lines'][number]);
  return { result, lines, stdout, stderr, dataDir };
}

/** What every run must show, whoever started it. */
async function expectCleanStop(run: Run): Promise<void> {
  const stopping = run.lines.findIndex((l) => l.msg === 'stopping');
  expect(stopping, 'the app logged "stopping"').toBeGreaterThanOrEqual(0);
  // Every finding at once: each is a separate fault of the shutdown.
  const brief = (l: Run['lines'][number]) => ({ level: l.level, component: l.component, msg: l.msg, err: l.err?.message });
  expect.soft(run.lines.filter((l) => l.level >= 50).map(brief), 'error or fatal lines').toEqual([]);
  expect.soft(run.lines.slice(stopping).filter((l) => l.level >= 40).map(brief), 'warn lines while stopping').toEqual([]);
  expect.soft(run.lines.at(-1)?.msg, `the last line, after: ${JSON.stringify(run.lines.slice(-12))}`).toBe('stopped');
  expect.soft(run.stderr, 'stderr').not.toMatch(/Error|\n\s+at /);
  expect.soft(run.stdout, 'a stack trace').not.toMatch(/\\n\s+at |\n\s+at /);
  await waitFor('no Postgres of the data folder', () => postgresOf(run.dataDir).length === 0 || undefined, 10_000);
  expect(existsSync(path.join(run.dataDir, 'postmaster.pid')), 'postmaster.pid left behind').toBe(false);
}

test('Ctrl-C of npm start: a clean stop, and npm ends by the SIGINT as a shell expects (130)', async () => {
  // `npm start` as a person runs it, less the web build of prestart (--ignore-scripts
  // skips pre- and post-scripts, not the script named): the same npm and sh layers.
  const run = await interrupt('npm', ['start', '--ignore-scripts', '--silent']);
  await expectCleanStop(run);
  expect(run.result).toEqual({ code: null, signal: 'SIGINT' });
}, 240_000);

// npm start runs node itself with tsx's loader (`node --import tsx`), not the tsx command:
// that one relays a signal to its child and, when the child has not confirmed it within
// 60 ms (a busy event loop on a loaded machine), kills it with SIGKILL, cutting its stop short.
test('Ctrl-C of the app without npm (node --import tsx, as npm start runs it): a clean stop, exit code 0', async () => {
  const run = await interrupt(process.execPath, ['--import', 'tsx', MAINS.server]);
  await expectCleanStop(run);
  expect(run.result).toEqual({ code: 0, signal: null });
  // Its demo users' passwords (the output is a pipe) are in its own cluster's folder: a
  // second cluster never overwrites the file of the clone's own.
  expect(run.stdout).toContain(`Their passwords are in ${path.join(run.dataDir, 'demo-users.txt')}`);
  expect(statSync(path.join(run.dataDir, 'demo-users.txt')).mode & 0o777).toBe(0o600);
}, 240_000);
