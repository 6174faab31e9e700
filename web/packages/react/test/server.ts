// `npm start`'s process (API, gateway, replicator) on a throwaway database, for the tests
// that run the packages against the real thing, and a service token it accepts.
import pg from 'pg';
import { SignJWT } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@realtime/protocol';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { spawnMain } from '@realtime/testkit';

export interface RealServer {
  db: TestDatabase;
  pool: pg.Pool;
  /** http://127.0.0.1:<port> */
  base: string;
  /** What the process printed so far (for failure messages). */
  output(): string;
  /** Polls `probe` until it gives a truthy value; the failure shows the server's last output. */
  until<T>(what: string, probe: () => Promise<T | false | null | undefined> | T | false | null | undefined, ms?: number, every?: number): Promise<T>;
  serviceToken(): Promise<string>;
  stop(): Promise<void>;
}

export async function startServer(opts: { secret: string; env?: Record<string, string> }): Promise<RealServer> {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const child = spawnMain('server', { env: { DATABASE_URL: db.url, PORT: '0', DEMO: '0', LOG_LEVEL: 'warn', REALTIME_JWT_SECRET: opts.secret, ...opts.env } });
  const server = child.proc;
  const output = child.output;
  const until: RealServer['until'] = async (what, probe, ms = 30_000, every = 50) => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, every));
    }
  };
  const m = await until('the server to listen', () => server.exitCode === null && /Open (http:\/\/localhost:\d+)/.exec(output()), 60_000);
  return {
    db,
    pool,
    base: m[1]!.replace('localhost', '127.0.0.1'),
    output,
    until,
    serviceToken: () =>
      new SignJWT({ channels: ['*'], projects: ['*'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(opts.secret)),
    async stop() {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
      }
      await pool.end();
      await db.drop();
    },
  };
}
