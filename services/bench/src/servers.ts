// The two designs' servers, each on a throwaway cluster of its own: ours (replicator,
// feed and gateway with the bench's limits) and the naive baseline (whole-row pg_notify
// trigger, NaiveServer). Each bench starts the ones it measures and stops them after.
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDatabase, freePort, runMigrations, startCluster } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { loadReplicatorEnv, replicatorConfig, ReplicatorThread } from '@realtime/replicator';
import { ChannelCatalog, Feed, Gateway, type GatewayLimits } from '@realtime/gateway';
import { signToken } from '@realtime/auth';
import { makeNaiveDatabase } from './naive';
import { NaiveServer } from './naive-server';

const log = createLogger('warn', { service: 'bench' });
const secret = new TextEncoder().encode('bench-secret-bench-secret-bench-secret');

/**
 * Sized for the benchmark's loads, not for production (see DEFAULT_LIMITS): 100
 * subscriptions on each of 100 sockets, 1,000 sockets of one token, subscribes in a burst,
 * and room for a 200,000-change replay and a 1,000-client burst to wait without resync.
 */
export const BENCH_LIMITS: Partial<GatewayLimits> = {
  maxSubscriptions: 200,
  subscribesPerSecond: 10_000,
  maxSocketsPerUser: 10_000,
  queueBytes: 256 * 1024 ** 2,
  pageSize: 2000,
  pageBytes: 16 * 1024 ** 2,
};

export interface Running {
  /** The database the server streams from. */
  url: string;
  port: number;
  token: string;
  pool: pg.Pool;
  /** Ours only: how far the gateway's feed has read. */
  position(): number;
  stop(): Promise<void>;
}

/** A migrated database `name` on an embedded cluster of its own, removed with its folder by `stop()`. */
export async function throwawayCluster(name: string): Promise<{ url: string; stop(): Promise<void> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-bench-'));
  await fs.chmod(root, 0o755);
  const c = await startCluster({ dataDir: path.join(root, 'data'), port: await freePort(), throwaway: true, log, settings: { max_connections: 100 } });
  await ensureDatabase(c.url(), name);
  const url = c.url(name);
  await runMigrations(url, log);
  return {
    url,
    stop: async () => {
      await c.stop();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Our replicator, feed and gateway on a cluster of their own. */
export async function startOurs(limits: Partial<GatewayLimits> = BENCH_LIMITS): Promise<Running> {
  const db = await throwawayCluster('bench');
  const pool = new pg.Pool({ connectionString: db.url, max: 8 });
  const stops: (() => Promise<void>)[] = [async () => pool.end(), db.stop];
  try {
    // As `npm start` runs it, with its defaults: the replicator in a thread of its own, off
    // the fan-out's event loop. STAMP_COMMIT=sync or STAMP_LINGER_MS in the bench's own
    // environment measure the alternatives.
    const replicator = new ReplicatorThread(replicatorConfig(loadReplicatorEnv(), db.url, log));
    const feed = new Feed({ pool, directUrl: db.url, log, replicator });
    const server = http.createServer();
    const channels = await ChannelCatalog.load({ pool, log, only: ['projects', 'extraction_jobs'] });
    const gateway = new Gateway({ httpServer: server, pool, feed, log, channels, frontendUrls: ['http://localhost'], jwtSecret: secret, limits });
    await feed.start();
    gateway.start();
    await replicator.start();
    stops.unshift(async () => {
      await gateway.stop();
      await replicator.stop();
      await feed.stop();
      await new Promise((r) => server.close(r));
    });
    const port = await listen(server);
    const token = await signToken(secret, { channels: ['*'], projects: ['*'] });
    return { url: db.url, port, token, pool, position: () => feed.position, stop: () => stopAll(stops) };
  } catch (err) {
    await stopAll(stops);
    throw err;
  }
}

/** The naive design on a cluster of its own: the five tables with its trigger instead of the outbox's. */
export async function startNaive(): Promise<Running> {
  const db = await throwawayCluster('naive');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const stops: (() => Promise<void>)[] = [async () => pool.end(), db.stop];
  try {
    const admin = await pool.connect();
    try {
      await makeNaiveDatabase(admin);
    } finally {
      admin.release();
    }
    const httpServer = http.createServer();
    const server = new NaiveServer(httpServer, db.url, log);
    await server.start();
    stops.unshift(async () => {
      await server.stop();
      await new Promise((r) => httpServer.close(r));
    });
    const port = await listen(httpServer);
    // The naive server checks no token; the clients send one anyway.
    return { url: db.url, port, token: 'none', pool, position: () => Number.NaN, stop: () => stopAll(stops) };
  } catch (err) {
    await stopAll(stops);
    throw err;
  }
}

async function stopAll(stops: (() => Promise<void>)[]): Promise<void> {
  for (const s of stops) await s().catch(() => undefined);
}
