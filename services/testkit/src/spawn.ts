// Starting the app's processes from a test, as users start them: `npm start`'s main (the
// whole app) or one part alone (the API, a gateway, the replicator), each a node process
// running its TypeScript through tsx, with its output kept and its port read from the
// line it prints once it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './root';

/** The composition roots: `npm start`, `npm run api`, `npm run gateway`, `npm run replicator`. */
export const MAINS = {
  server: 'services/server/src/main.ts',
  api: 'services/api/src/main.ts',
  gateway: 'services/gateway/src/main.ts',
  replicator: 'services/replicator/src/main.ts',
} as const;

export type Main = keyof typeof MAINS;

// The line each main prints once it listens (its port in the first group).
const READY: Record<Main, RegExp> = {
  server: /Open http:\/\/localhost:(\d+)/,
  api: /API running on \S+:(\d+)\./,
  gateway: /Gateway running on \S+:(\d+)\./,
  replicator: /Replicator running on \S+:(\d+)\./,
};

/** The port a main's output says it listens on, or null before it says so. */
export function listeningPort(main: Main, output: string): number | null {
  const m = READY[main].exec(output);
  return m ? Number(m[1]) : null;
}

export interface SpawnedMain {
  main: Main;
  proc: ChildProcess;
  /** stdout and stderr so far, in arrival order. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Added to this process's environment; an empty string unsets a variable for the child (parseEnv reads '' as unset). */
  env?: Record<string, string | undefined>;
  /** A process group of its own, for a signal to the whole group (Ctrl-C). */
  detached?: boolean;
}

/** Starts a main (node, not a wrapper, so that a signal reaches it). */
export function spawnMain(main: Main, opts: SpawnOptions = {}): SpawnedMain {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, MAINS[main])], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    detached: opts.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': 'exit' can come while the pipes still hold the last lines.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  return { main, proc, output: () => out, exited };
}

/**
 * Resolves with the port once the main says it listens; rejects if it exits first (with
 * its output, which says why) or if `timeoutMs` passes.
 */
export function untilListening(child: SpawnedMain, timeoutMs = 90_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const port = listeningPort(child.main, child.output());
      if (port === null) return;
      done();
      resolve(port);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      reject(new Error(`${MAINS[child.main]} exited (${signal ?? `code ${code}`}) before it listened:\n${child.output()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${MAINS[child.main]} did not listen within ${timeoutMs} ms:\n${child.output()}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.proc.stdout!.off('data', check);
      child.proc.stderr!.off('data', check);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout!.on('data', check);
    child.proc.stderr!.on('data', check);
    child.proc.once('exit', onExit);
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) onExit(child.proc.exitCode, child.proc.signalCode);
    else check();
  });
}

export interface RunningMain extends SpawnedMain {
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  pid: number;
  /** Resident memory of the process, in bytes (Linux /proc). */
  rss(): number;
  /** A sample of /metrics, summed over the series with these labels (read with the bearer token given). */
  metric(name: string, labels?: Record<string, string>, token?: string): Promise<number>;
  /** SIGTERM, then the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a main and waits until it listens; a main that fails to start is killed and its output thrown. */
export async function startMain(main: Main, opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunningMain> {
  const child = spawnMain(main, opts);
  let port: number;
  try {
    port = await untilListening(child, opts.timeoutMs);
  } catch (err) {
    child.proc.kill('SIGKILL');
    throw err;
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    ...child,
    port,
    base,
    pid: child.proc.pid!,
    rss() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.proc.pid}/status`, 'utf8'));
      return Number(m![1]) * 1024;
    },
    async metric(name, labels = {}, token) {
      const text = await (await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })).text();
      return sampleSum(text, name, labels);
    },
    async stop(graceMs = 20_000) {
      if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGTERM');
      const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
      const result = await child.exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** `npm start`'s process (the whole app on one port). */
export function startApp(opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunningMain> {
  return startMain('server', opts);
}

/** The sum of a metric's samples in Prometheus text, over the series that carry these labels. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}
