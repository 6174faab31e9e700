// `npm start`'s process on a test database, for tests that measure it from outside: its
// port, its pid (to read its memory), its output, and a stop that waits for the exit.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { waitFor } from '@realtime/gateway/test-helpers';
import { testLoginEnv } from '@realtime/db/testing-sql';
import { hashPassword } from '../src/auth/password';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const PROCESS_METRICS_TOKEN = 'process-metrics-token-0123456789abcdef';

export interface RunningApp {
  base: string;
  pid: number;
  output(): string;
  /** Resident memory of the process, in bytes (Linux /proc). */
  rss(): number;
  /** A sample of /metrics (read with METRICS_TOKEN). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startApp(databaseUrl: string, env: Record<string, string> = {}): Promise<RunningApp> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      // Each part as its own login role, as deployed; DATABASE_URL is the owner that migrates.
      ...testLoginEnv(databaseUrl),
      PORT: '0',
      DEMO: '0',
      LOG_LEVEL: 'warn',
      REALTIME_JWT_SECRET: 'c2f1d7a9e04b6385f1a2c3d4e5f60718293a4b5c6d7e8f90',
      METRICS_TOKEN: PROCESS_METRICS_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  let port: string;
  try {
    port = await waitFor('the banner', () => {
      if (proc.exitCode !== null) throw new Error(`the process exited: ${out}`);
      return /Open http:\/\/localhost:(\d+)/.exec(out)?.[1];
    }, 60_000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    pid: proc.pid!,
    output: () => out,
    rss() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return Number(m![1]) * 1024;
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${PROCESS_METRICS_TOKEN}` } })).text();
      let total = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
      }
      return total;
    },
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Signs in and returns the session cookie header. */
export async function signIn(base: string, email: string, password: string): Promise<{ cookie: string }> {
  const res = await fetch(`${base}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (res.status !== 200) throw new Error(`sign-in of ${email}: ${res.status} ${await res.text()}`);
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]! };
}

export async function realtimeToken(base: string, session: { cookie: string }): Promise<string> {
  const res = await fetch(`${base}/api/realtime/token`, { headers: session });
  return ((await res.json()) as { token: string }).token;
}

/** A user who signs in with a password, made as the CLI makes one. */
export async function addUser(pool: pg.Pool, email: string, password: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (email, name, password_hash) VALUES ($1, $1, $2) RETURNING id`, [email, await hashPassword(password)]);
  return rows[0]!.id;
}
