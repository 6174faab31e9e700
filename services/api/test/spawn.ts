// `npm start`'s process on a test database, for tests that measure it from outside: its
// port, its pid (to read its memory), its output, and a stop that waits for the exit.
import type pg from 'pg';
import { startApp as startMain } from '@realtime/testkit';
import { testLoginEnv } from '@realtime/db/testing-sql';
import { hashPassword } from '../src/auth/password';

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
  const app = await startMain({
    env: {
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
    timeoutMs: 60_000,
  });
  return {
    base: app.base,
    pid: app.pid,
    output: app.output,
    rss: app.rss,
    metric: (name, labels) => app.metric(name, labels, PROCESS_METRICS_TOKEN),
    async stop() {
      await app.stop();
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
