// The system under test, as it runs in production: one Postgres, two replicator
// processes (leader and standby), three gateway/API processes and, unless the run says
// --no-redis, one redis-server holding the shared change log (the replicator leader
// appends, the gateways read their feed and replays from it). Each is a real child
// process so that SIGKILL is a real crash. Their output goes to one log file each, kept
// when a run fails. Users are made with the product's own CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { ensureDatabase, freePort, repoRoot, runMigrations, startCluster, type Cluster } from '@realtime/db';
import type { Logger } from '@realtime/runtime';
import { sleep, startRedis, waitFor as waitForState, type RunningRedis } from '@realtime/testkit';
import { inheritedEnv } from './env';
import { sumBySource } from './report';

export const REPLICATOR_ROLE = 'chaos_replicator';
/** Shared by the gateways (a token one issues is good at the other) and by the service token the run mints. */
export const SECRET = 'chaos-secret-chaos-secret-chaos-secret-0123';
/** The replicators and gateways answer /status and /metrics only with it. */
const METRICS_TOKEN = 'chaos-metrics-token-0123456789';
/**
 * The shortest lifetime the API allows for realtime tokens, so that every user
 * subscriber renews its token during a run, and sockets that miss it are closed.
 */
const TOKEN_TTL_SECONDS = 60;
/** As many gateways as a deployment that has outgrown one: a client may land on any. */
export const GATEWAYS = 3;

export class Proc {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly logFile: WriteStream;
  private stopping = false;
  starts = 0;
  /** Exits nobody asked for (a crash), as `exit <code or signal> at <time>`: restoreAll starts it again, the checker reports it. */
  readonly crashes: string[] = [];
  /** SIGTERM stops that had not ended after 15 s and were finished with SIGKILL. */
  forcedStops = 0;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: Record<string, string>,
    readonly port: number,
    logDir: string,
  ) {
    this.logFile = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.child) throw new Error(`${this.name} is already running`);
    this.starts++;
    this.logFile.write(`\n--- start ${this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, this.script)], {
      cwd: repoRoot,
      env: { ...inheritedEnv(), ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(this.logFile, { end: false });
    child.stderr.pipe(this.logFile, { end: false });
    this.child = child;
    this.stopping = false;
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.logFile.write(`--- exit ${code ?? signal} at ${new Date().toISOString()}\n`);
        if (!this.stopping) this.crashes.push(`exit ${code ?? signal} at ${new Date().toISOString()}`);
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
  }

  /** Sends the signal and waits for the process to be gone (SIGKILL after 15 s of SIGTERM). */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    child.kill(signal);
    const timer = setTimeout(() => {
      if (signal !== 'SIGKILL') this.forcedStops++;
      child.kill('SIGKILL');
    }, 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  async getJson<T>(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T } | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}${pathname}`, { headers, signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: (await res.json()) as T };
    } catch {
      return null;
    }
  }

  close(): void {
    this.logFile.end();
  }
}

/** Chaos waits longer than a test does by default: its stack is several processes under faults. */
export const waitFor = <T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> => waitForState(what, fn, timeoutMs, everyMs);

export { sleep };

interface ReplicatorStatus {
  process: { role: string; mode: string } | null;
}

/** A gateway's live feed as its /metrics tells: whether the shared log feeds it now, and the changes it handed on by source. */
export interface FeedStatus {
  fromLog: boolean;
  changes: Record<string, number>;
}

export class Stack {
  readonly replicators: Proc[];
  readonly gateways: Proc[];
  private constructor(
    private cluster: Cluster,
    private readonly pgPort: number,
    private readonly dataDir: string,
    private readonly logDir: string,
    readonly url: string,
    private readonly log: Logger,
    replicators: Proc[],
    gateways: Proc[],
    /** The shared change log's server, or null for a run without one. */
    readonly redis: RunningRedis | null,
  ) {
    this.replicators = replicators;
    this.gateways = gateways;
  }

  static async start(root: string, log: Logger, opts: { redis: boolean }): Promise<Stack> {
    const logDir = path.join(root, 'logs');
    await fs.mkdir(logDir, { recursive: true });
    const pgPort = await freePort();
    const dataDir = path.join(root, 'data');
    const cluster = await bootCluster(dataDir, pgPort, log);
    await ensureDatabase(cluster.url(), 'chaos');
    const url = cluster.url('chaos');
    await runMigrations(url, log);
    await grantReplicatorRole(url);
    const replUrl = new URL(url);
    replUrl.username = REPLICATOR_ROLE;
    replUrl.password = 'chaos';
    // Never the machine's own Redis: a server of the run's, which its faults may kill and flush.
    const redis = opts.redis ? await startRedis() : null;
    const common = { LOG_LEVEL: 'info', DEMO: '0', METRICS_TOKEN, ...(redis ? { REDIS_URL: redis.url } : {}) };
    // The gateways' parts as their own login roles, as deployed (the owner creates them when
    // it migrates). The replicators keep a role of the stack's, whose REPLICATION the
    // faults take away and give back: a login role is reset to its rights at every start.
    const login = (user: string) => Object.assign(new URL(url), { username: user, password: 'chaos' }).toString();
    const logins = { DATABASE_URL_API: login('chaos_api'), DATABASE_URL_GATEWAY: login('chaos_gateway') };
    const replicators = await Promise.all(
      [1, 2].map(
        async (i) =>
          new Proc(`replicator-${i}`, 'services/replicator/src/main.ts', { ...common, DATABASE_URL: replUrl.toString(), WAL_RETRY_MS: '2000', SAFETY_POLL_MS: '500' }, await freePort(), logDir),
      ),
    );
    const gateways = await Promise.all(
      Array.from({ length: GATEWAYS }, (_, i) => i + 1).map(
        async (i) =>
          new Proc(
            `gateway-${i}`,
            'services/server/src/main.ts',
            { ...common, DATABASE_URL: url, ...logins, REPLICATOR: '0', REALTIME_JWT_SECRET: SECRET, REALTIME_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS), SOCKET_QUEUE_BYTES: '65536', REPLAY_PAGE_SIZE: '500', RETENTION: 'forever' },
            await freePort(),
            logDir,
          ),
      ),
    );
    const stack = new Stack(cluster, pgPort, dataDir, logDir, url, log, replicators, gateways, redis);
    replicators[0]!.start();
    await stack.waitForLeader();
    replicators[1]!.start();
    for (const g of gateways) g.start();
    await Promise.all(gateways.map((g) => stack.waitForGateway(g)));
    return stack;
  }

  async role(p: Proc): Promise<string | null> {
    const r = await p.getJson<ReplicatorStatus>('/status', { authorization: `Bearer ${METRICS_TOKEN}` });
    return r?.body.process?.role ?? null;
  }

  /** The replicator that holds the leader lock and streams, once there is one. */
  async waitForLeader(timeoutMs = 60_000): Promise<Proc> {
    return waitFor('a replicator to lead', async () => {
      for (const p of this.replicators) if (p.running && (await this.role(p)) === 'leader') return p;
      return null;
    }, timeoutMs, 200);
  }

  /** A gateway's feed (null while it does not answer). */
  async feed(g: Proc): Promise<FeedStatus | null> {
    const text = await this.metrics(g);
    if (text === null) return null;
    return { fromLog: /^realtime_feed_from_log 1$/m.test(text), changes: sumBySource([text], 'realtime_feed_changes_total') };
  }

  /** The text of a process's /metrics (null while it does not answer). */
  async metrics(p: Proc): Promise<string | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${p.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(2000) });
      return res.ok ? await res.text() : null;
    } catch {
      return null;
    }
  }

  async waitForGateway(g: Proc, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${g.name} to answer /healthz`, async () => (await g.getJson('/healthz'))?.status === 200, timeoutMs, 200);
  }

  async mode(): Promise<string | null> {
    return this.query<{ mode: string }>('SELECT mode FROM realtime_state').then((r) => r[0]?.mode ?? null).catch(() => null);
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = new pg.Client({ connectionString: this.url, application_name: 'chaos-control' });
    // A connection that Postgres ends (a restart) fails its query; the event must not end the run.
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  /** Runs `fn` in one transaction on a connection of its own. */
  async transaction<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: this.url, application_name: 'chaos-control' });
    // A connection that Postgres ends (a restart) fails its query; the event must not end the run.
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await c.end();
    }
  }

  /** `npm run users -- add <email> --password-stdin`, as an operator makes a user; its output goes to the users log. */
  async addUser(email: string, password: string): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/users/cli.ts'), 'add', email, '--password-stdin'], {
      cwd: repoRoot,
      env: { ...inheritedEnv(), DATABASE_URL: this.url, LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.stdin.end(`${password}\n`);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    await fs.appendFile(path.join(this.logDir, 'users.log'), `--- add ${email}: exit ${code}\n${output}`);
    if (code !== 0) throw new Error(`npm run users -- add ${email} exited ${code}: ${output.trim()}`);
  }

  /** A clean stop and a start on the same data: every connection of every process drops. */
  async restartPostgres(downMs: number): Promise<void> {
    await this.cluster.stop({ keepData: true });
    await sleep(downMs);
    this.cluster = await bootCluster(this.dataDir, this.pgPort, this.log);
  }

  /**
   * SIGKILL to every Postgres process, then a start on the same data: crash recovery
   * keeps what reached the operating system and loses WAL still in shared memory, such
   * as a stamp committed without waiting for the disk.
   */
  async crashPostgres(downMs: number): Promise<void> {
    await this.cluster.crash();
    await sleep(downMs);
    this.cluster = await bootCluster(this.dataDir, this.pgPort, this.log);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.gateways, ...this.replicators].map((p) => p.stop('SIGTERM')));
    for (const p of [...this.gateways, ...this.replicators]) p.close();
    await this.redis?.stop();
    await this.cluster.stop();
  }
}

function bootCluster(dataDir: string, port: number, log: Logger): Promise<Cluster> {
  return startCluster({ dataDir, port, throwaway: true, log, settings: { fsync: 'off', max_connections: 200 } });
}

/**
 * The replicators log in as a role of their own, so that the WAL can be taken away from
 * them (NOREPLICATION) and given back, as an operator or a managed Postgres might.
 */
async function grantReplicatorRole(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE ROLE ${REPLICATOR_ROLE} LOGIN PASSWORD 'chaos' REPLICATION`);
    await c.query(`GRANT CREATE, CONNECT ON DATABASE chaos TO ${REPLICATOR_ROLE}`);
    for (const schema of ['public', 'drizzle']) {
      await c.query(`GRANT ALL ON SCHEMA ${schema} TO ${REPLICATOR_ROLE}`);
      await c.query(`GRANT ALL ON ALL TABLES IN SCHEMA ${schema} TO ${REPLICATOR_ROLE}`);
      await c.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA ${schema} TO ${REPLICATOR_ROLE}`);
    }
  } finally {
    await c.end();
  }
}
