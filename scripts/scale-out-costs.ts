// `npx tsx scripts/scale-out-costs.ts`: what each part of a scaled-out deployment costs
// when idle. Starts a throwaway embedded Postgres and a redis-server, migrates with a login
// role per part, then the separate mains as compose runs them (two replicators, three
// gateways, two APIs, each with REDIS_URL), waits until the leader leads and every gateway
// feeds from the change log, lets them settle, and prints per process its resident memory
// and the connections it holds to Postgres and to Redis (counted from the sockets the
// process owns), then pg_stat_activity by role; then writes CHANGES small rows and prints
// what Redis holds for them. Everything it started goes on exit or Ctrl-C.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDatabase, freePort, startCluster, type Cluster } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { repoRoot, sleep, startMain, startRedis, waitFor, type Main, type RunningMain, type RunningRedis } from '@realtime/testkit';

const SHAPE: [Main, number][] = [
  ['replicator', 2],
  ['gateway', 3],
  ['api', 2],
];
// Idle means after start-up's one-off work (migration checks, catalog loads, first GC).
const SETTLE_MS = 10_000;
const METRICS_TOKEN = randomBytes(24).toString('hex');
const CHANGES = 20_000;

const mains: { name: string; main: RunningMain }[] = [];
let redis: RunningRedis | null = null;
let cluster: Cluster | null = null;
let root: string | null = null;
let cleaning: Promise<void> | null = null;

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const { main } of mains.reverse()) await main.stop().catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    if (root) await fs.rm(root, { recursive: true, force: true });
  })();
  return cleaning;
}
// Ctrl-C reaches this process twice (from the terminal, and relayed by tsx's own process):
// every signal after the first waits for the same clean-up instead of ending the process.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!cleaning) process.stderr.write(`\n${signal}: stopping what was started\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Inodes of this machine's TCP sockets whose remote end is `port`, from /proc/net/tcp{,6}. */
function socketsTo(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // rem_address is HEXIP:HEXPORT; st 01 is ESTABLISHED.
      if (cols.length < 10 || cols[3] !== '01') continue;
      if (parseInt(cols[2]!.split(':')[1]!, 16) === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** How many of `inodes` the process `pid` holds open. */
function held(pid: number, inodes: Set<string>): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) n++;
    } catch {
      // closed between the listing and the read
    }
  }
  return n;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}

/** Redis's own count of the memory it uses (INFO memory), through redis-cli. */
function redisUsedMemory(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const cli = spawn('redis-cli', ['-p', String(port), 'info', 'memory'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.on('error', reject);
    cli.on('close', () => resolve(Number(/^used_memory:(\d+)/m.exec(out)?.[1] ?? NaN)));
  });
}

const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;

async function main(): Promise<void> {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-scale-out-'));
  // As root, Postgres runs as its own user, which must reach the data folder.
  await fs.chmod(root, 0o755);
  const pgPort = await freePort();
  cluster = await startCluster({ dataDir: path.join(root, 'data'), port: pgPort, throwaway: true, settings: { fsync: 'off' }, log: createLogger('warn', { service: 'scale-out-costs' }) });
  await ensureDatabase(cluster.url(), 'realtime');
  const owner = cluster.url('realtime');
  const login = (role: string) => {
    const u = new URL(owner);
    u.username = `realtime_${role}_login`;
    u.password = randomBytes(16).toString('hex');
    return u.toString();
  };
  const logins = { DATABASE_URL_API: login('api'), DATABASE_URL_GATEWAY: login('gateway'), DATABASE_URL_REPLICATOR: login('replicator') };
  // As compose's `migrate`: the owner migrates and sets up the roles; no part sees the owner.
  await run(process.execPath, ['--import', 'tsx', 'db/src/cli/migrate.ts'], { DATABASE_URL: owner, ...logins, LOG_LEVEL: 'warn' });
  redis = await startRedis();
  process.stdout.write(`Postgres on ${pgPort}, Redis on ${redis.port}; starting ${SHAPE.map(([m, n]) => `${n} ${m}(s)`).join(', ')}\n`);

  const common = { PORT: '0', LOG_LEVEL: 'warn', LOG_FORMAT: 'json', DEMO: '0', METRICS_TOKEN, REDIS_URL: redis.url, REALTIME_JWT_SECRET: randomBytes(32).toString('hex'), DATABASE_URL: '' };
  const status = async (m: RunningMain) => (await (await fetch(`${m.base}/status`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).json()) as Record<string, Record<string, unknown> | null>;
  for (const [part, n] of SHAPE) {
    for (let i = 1; i <= n; i++) {
      const env = { ...common, [`DATABASE_URL_${part.toUpperCase()}`]: logins[`DATABASE_URL_${part.toUpperCase()}` as keyof typeof logins] };
      const m = await startMain(part, { env, timeoutMs: 180_000 });
      mains.push({ name: `${part}-${i}`, main: m });
      if (part === 'replicator' && i === 1) await waitFor('the first replicator to lead', async () => (await status(m)).process?.role === 'leader', 60_000);
      if (part === 'gateway') await waitFor(`gateway-${i} to feed from the change log`, async () => (await status(m)).feed?.fromLog === true, 60_000);
    }
  }
  await sleep(SETTLE_MS);

  const pgSockets = socketsTo(pgPort);
  const redisSockets = socketsTo(redis.port);
  const rows = mains.map(({ name, main: m }) => ({ name, rss: m.rss(), pg: held(m.pid, pgSockets), redis: held(m.pid, redisSockets) }));
  const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  const redisRss = rssOf(redis.pid);
  const usedMemoryIdle = await redisUsedMemory(redis.port);
  const client = new pg.Client({ connectionString: owner, application_name: 'scale-out-costs' });
  await client.connect();
  const activity = (
    await client.query<{ usename: string; application_name: string; backend_type: string; n: string }>(
      `SELECT usename, application_name, backend_type, count(*) AS n FROM pg_stat_activity
        WHERE usename LIKE 'realtime\\_%\\_login' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    )
  ).rows;

  // The log's cost grows with what it keeps: write small rows (a project's name) through
  // Postgres, as any writer does, and wait until the leader has appended them all.
  for (let i = 0; i < CHANGES / 1000; i++) await client.query(`INSERT INTO projects (name) SELECT 'cost ' || $1::int || '-' || g FROM generate_series(1, 1000) g`, [i]);
  await waitFor('every change stamped', async () => (await client.query<{ n: string }>('SELECT count(*) AS n FROM change_outbox WHERE seq IS NULL')).rows[0]!.n === '0', 120_000);
  const leader = mains[0]!.main;
  await waitFor('the log to reach the head', async () => {
    const log = (await status(leader)).changelog as { lag?: number; connected?: boolean } | undefined;
    return log?.connected === true && log.lag === 0;
  }, 120_000);
  const usedMemory = await redisUsedMemory(redis.port);
  const redisRssAfter = rssOf(redis.pid);
  await client.end();

  const pad = (s: string, n: number) => s.padEnd(n);
  process.stdout.write(`\nIdle, ${SETTLE_MS / 1000} s after the last start, on ${os.cpus().length} cores (node ${process.version}):\n`);
  process.stdout.write(`${pad('process', 14)}${pad('RSS', 10)}${pad('Postgres', 10)}Redis\n`);
  for (const r of rows) process.stdout.write(`${pad(r.name, 14)}${pad(mb(r.rss), 10)}${pad(String(r.pg), 10)}${r.redis}\n`);
  process.stdout.write(`${pad('redis-server', 14)}${mb(redisRss)}\n`);
  process.stdout.write('\npg_stat_activity of the login roles:\n');
  for (const a of activity) process.stdout.write(`  ${pad(a.usename, 28)}${pad(a.application_name || '(none)', 30)}${pad(a.backend_type, 16)}${a.n}\n`);
  process.stdout.write(`\nAfter ${CHANGES} changes of small rows, all in the log: redis-server RSS ${mb(redisRssAfter)}, used_memory ${mb(usedMemory)}`);
  process.stdout.write(`: ${Math.round((redisRssAfter - redisRss) / CHANGES)} bytes of RSS, ${Math.round((usedMemory - usedMemoryIdle) / CHANGES)} of used_memory a change\n`);
  for (const { name, main: m } of mains) process.stdout.write(`  ${pad(name, 14)}${mb(m.rss())}\n`);
}

try {
  await main();
} catch (err) {
  // Once interrupted, a main that was starting fails to: that is no news.
  if (!cleaning) process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
