// The processes `npm run bench -- scale` measures, as an operator runs them: an embedded
// Postgres (a throwaway cluster), a redis-server of its own (testkit's startRedis), and
// `npm run replicator` and `npm run gateway` mains as child processes, with or without
// REDIS_URL. Also the reads the bench takes figures from: /status, /metrics and
// pg_stat_database.
import pg from 'pg';
import { signToken } from '@realtime/auth';
import { startMain, startRedis, waitFor, type RunningMain, type RunningRedis } from '@realtime/testkit';
import { throwawayCluster } from './servers';
import type { LogMode } from './scale-figures';
import { histogramBuckets, type Buckets } from './stats';

const SECRET = 'bench-scale-secret-bench-scale-secret-0123';
const METRICS_TOKEN = 'bench-scale-metrics-token-0123456789';

/**
 * Backends report their counters to pg_stat_database at most once a second, and one that
 * goes idle within 10 s (PGSTAT_IDLE_INTERVAL): a reading this long after the work is whole.
 */
export const PGSTAT_SETTLE_MS = 11_000;

/**
 * The bench's clients are one service token with thousands of sockets and subscriptions,
 * subscribing in bursts: bounds sized for that. Replay turns and pages keep their defaults.
 */
const GATEWAY_LIMITS = { MAX_SOCKETS_PER_USER: '10000', SUBSCRIBES_PER_SECOND: '10000', MAX_SUBSCRIPTIONS_PER_SOCKET: '200' };

export interface ScaleCluster {
  url: string;
  pool: pg.Pool;
  /** A service token for every channel and project, signed with the gateways' secret. */
  token: string;
  startReplicator(mode: LogMode): Promise<RunningMain>;
  /** A gateway; `ring`: its REPLAY_RING_CHANGES. */
  startGateway(mode: LogMode, ring: number): Promise<RunningMain>;
  /** The highest seq stamped. */
  head(): Promise<number>;
  /** Waits until each gateway's feed has handed on `seq`. */
  fedUpTo(gateways: RunningMain[], seq: number): Promise<void>;
  /** tup_returned + tup_fetched of the bench database, as pg_stat_database has them now. */
  rowsRead(): Promise<number>;
  metric(m: RunningMain, name: string, labels?: Record<string, string>): Promise<number>;
  /** A histogram of the main's /metrics, as it stands (a scrape reads the database's gauges: keep it outside rows-read windows). */
  buckets(m: RunningMain, name: string): Promise<Buckets>;
  stop(): Promise<void>;
}

interface Status {
  process?: { role?: string } | null;
  feed?: { position: number; fromLog: boolean | null } | null;
  changelog?: { connected?: boolean; lag?: number } | null;
}

async function status(m: RunningMain): Promise<Status> {
  const res = await fetch(`${m.base}/status`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  return (await res.json()) as Status;
}

export async function startScaleCluster(): Promise<ScaleCluster> {
  const db = await throwawayCluster('bench');
  let redis: RunningRedis | null = null;
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const mains: RunningMain[] = [];
  try {
    redis = await startRedis();
    const redisUrl = redis.url;
    const env = (mode: LogMode) => ({
      DATABASE_URL: db.url,
      PORT: '0',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      METRICS_TOKEN,
      REALTIME_JWT_SECRET: SECRET,
      // Empty unsets it for the child, whatever the bench's own environment says.
      REDIS_URL: mode === 'redis' ? redisUrl : '',
      CHANGELOG_PREFIX: 'bench',
    });
    const track = (main: RunningMain) => {
      mains.push(main);
      return main;
    };
    const token = await signToken(new TextEncoder().encode(SECRET), { channels: ['*'], projects: ['*'] }, { ttlSeconds: 3600 });
    return {
      url: db.url,
      pool,
      token,
      async startReplicator(mode) {
        const r = track(await startMain('replicator', { env: env(mode) }));
        await waitFor(
          async () => {
            const s = await status(r);
            return s.process?.role === 'leader' && (mode === 'off' || s.changelog?.connected === true);
          },
          { what: `the replicator (${mode === 'redis' ? 'with' : 'without'} Redis) to lead`, timeoutMs: 60_000 },
        );
        return r;
      },
      async startGateway(mode, ring) {
        const g = track(await startMain('gateway', { env: { ...env(mode), ...GATEWAY_LIMITS, REPLAY_RING_CHANGES: String(ring) } }));
        await waitFor(async () => (await status(g)).feed?.fromLog === (mode === 'redis' ? true : null), { what: `a gateway's feed (${mode === 'redis' ? 'from the change log' : 'from the outbox'})`, timeoutMs: 60_000 });
        return g;
      },
      async head() {
        const { rows } = await pool.query<{ head: string | null }>(`SELECT max(seq) AS head FROM change_outbox`);
        return Number(rows[0]?.head ?? 0);
      },
      async fedUpTo(gateways, seq) {
        for (const g of gateways) await waitFor(async () => ((await status(g)).feed?.position ?? 0) >= seq, { what: `gateway :${g.port} to hand on seq ${seq}`, timeoutMs: 120_000 });
      },
      async rowsRead() {
        const { rows } = await pool.query<{ n: string }>(`SELECT tup_returned + tup_fetched AS n FROM pg_stat_database WHERE datname = current_database()`);
        return Number(rows[0]!.n);
      },
      metric: (m, name, labels = {}) => m.metric(name, labels, METRICS_TOKEN),
      async buckets(m, name) {
        const res = await fetch(`${m.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        if (!res.ok) throw new Error(`${m.base}/metrics answered ${res.status}`);
        return histogramBuckets(await res.text(), name);
      },
      async stop() {
        for (const m of mains.reverse()) await m.stop().catch(() => undefined);
        await pool.end();
        await redis?.stop();
        await db.stop();
      },
    };
  } catch (err) {
    for (const m of mains) m.proc.kill('SIGKILL');
    await pool.end();
    await redis?.stop();
    await db.stop();
    throw err;
  }
}
