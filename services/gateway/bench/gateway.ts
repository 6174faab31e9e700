// Gateway figures on one throwaway cluster with the real replicator and gateway: replay
// rate to one client; live commit-to-client latency with 100 clients at 1,000 changes/s
// and with 1,000 clients at 100 changes/s (clients in a child process of their own); what
// a client away for a second misses; and a row over NOTIFY's 8000-byte limit.
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createLogger, ensureDatabase, freePort, runMigrations, startCluster } from '@realtime/db';
import { Replicator } from '@realtime/replicator';
import { Feed } from '../src/feed';
import { Gateway } from '../src/gateway';
import { loadChannelColumns } from '../src/channels';
import { signToken } from '../src/auth/token';
import { positiveInts } from '../../../db/bench/args';
import { fmt, median, out } from '../../../db/bench/stats';
import { liveRounds, lossRounds, oversizeRow, replayRate, type Latency, type Loss, type Oversize } from './measure';

const log = createLogger('warn', { service: 'bench' });
const secret = new TextEncoder().encode('bench-secret-bench-secret-bench-secret');

/** Options both gateway-side benches take, checked once. */
export function liveOptions(argv: string[], rows = false): { seconds: number; rounds: number; rows: number } {
  const { values } = parseArgs({
    args: argv,
    options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, ...(rows ? { rows: { type: 'string', default: '50000' } } : {}) },
  });
  const n: Partial<Record<'seconds' | 'rounds' | 'rows', number>> = positiveInts(values as Record<string, string | undefined>);
  return { seconds: n.seconds ?? 5, rounds: n.rounds ?? 3, rows: n.rows ?? 0 };
}

/** The figures of one design's server; medians over the rounds. */
export interface ServerResult {
  live100: Latency;
  live1000: Latency;
  loss: Loss;
  oversize: Oversize;
  rounds: number;
  /** How long each live-latency round wrote. */
  seconds: number;
}

export interface GatewayResult extends ServerResult {
  replay: number;
}

export async function gatewayBench(argv: string[]): Promise<GatewayResult> {
  const { rows, seconds, rounds } = liveOptions(argv, true);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-bench-'));
  await fs.chmod(root, 0o755);
  const cluster = await startCluster({ dataDir: path.join(root, 'data'), port: await freePort(), throwaway: true, log, settings: { max_connections: 100 } });
  const pool = new pg.Pool({ connectionString: cluster.url('bench'), max: 8 });
  const stops: (() => Promise<void>)[] = [];
  try {
    await ensureDatabase(cluster.url(), 'bench');
    const url = cluster.url('bench');
    await runMigrations(url, log);
    const replicator = new Replicator({ directUrl: url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 5000, lingerMs: 1, safetyPollMs: 1000, walRetryMs: 10_000, log });
    const feed = new Feed({ pool, directUrl: url, log, replicator });
    const server = http.createServer();
    const channels = ['projects', 'extraction_jobs'];
    const gateway = new Gateway({ httpServer: server, pool, feed, log, channels, columns: await loadChannelColumns(pool, channels), frontendUrls: ['http://localhost'], jwtSecret: secret, limits: { maxSubscriptions: 10, pageSize: 2000, queueBytes: 256 * 1024 ** 2, pageBytes: 16 * 1024 ** 2, subscribesPerSecond: 10_000, maxSocketsPerUser: 10_000 } });
    await feed.start();
    gateway.start();
    await replicator.start();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stops.push(async () => {
      await gateway.stop();
      await replicator.stop();
      await feed.stop();
      await new Promise((r) => server.close(r));
    });
    const port = (server.address() as AddressInfo).port;
    const token = await signToken(secret, { channels: ['*'], projects: ['*'] });

    out(`gateway: replay of ${fmt(rows)} changes to one client; live latency over ${seconds} s; ${rounds} rounds each; replicator linger 1 ms; ${os.cpus().length} cores`);
    for (let done = 0; done < rows; done += 1000) await pool.query(`INSERT INTO projects (name) SELECT 'replay ' || g FROM generate_series(1, 1000) g`);
    for (let i = 0; feed.position < rows; i++) {
      if (i > 600) throw new Error('the replicator did not stamp the rows in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    const replays: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      replays.push(await replayRate(port, token, rows));
      out(`  replay round ${r}/${rounds}: ${fmt(replays.at(-1)!)} changes/s`);
    }
    const replay = median(replays);
    const measured = await serverFigures(url, port, token, seconds, rounds);
    out('');
    out('  figure (medians)                                   measured      goal');
    out(`  replay to one client                               ${fmt(replay).padStart(8)}/s   50,000/s   ${replay >= 50_000 ? 'met' : 'missed'}`);
    out(`  live p50, 100 clients at 1,000 changes/s           ${String(measured.live100.p50).padStart(8)} ms  5 ms       ${measured.live100.p50 <= 5 ? 'met' : 'missed'}`);
    out(`  live p99, 100 clients at 1,000 changes/s           ${String(measured.live100.p99).padStart(8)} ms  25 ms      ${measured.live100.p99 <= 25 ? 'met' : 'missed'}`);
    out(`  live p99, 1,000 clients at 100 changes/s           ${String(measured.live1000.p99).padStart(8)} ms  150 ms     ${measured.live1000.p99 <= 150 ? 'met' : 'missed'}`);
    out(`  changes missed by a client away ~1 s               ${String(measured.loss.missed).padStart(8)}     0          ${measured.loss.missed === 0 ? 'met' : 'missed'}`);
    return { replay, ...measured };
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await pool.end();
    await cluster.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** The figures measured the same way for our gateway and the baseline's listener. */
export async function serverFigures(url: string, port: number, token: string, seconds: number, rounds: number): Promise<ServerResult> {
  const live100 = await liveRounds(url, port, token, 100, 1000, seconds, rounds);
  const live1000 = await liveRounds(url, port, token, 1000, 100, seconds, rounds);
  const loss = await lossRounds(url, port, token, rounds);
  const oversize = await oversizeRow(url, port, token);
  out(`  a 9,000-byte row: ${oversize.committed ? 'committed' : `write failed (${oversize.error})`}, ${oversize.delivered ? `delivered in ${oversize.ms} ms` : 'not delivered'}`);
  return { live100, live1000, loss, oversize, rounds, seconds };
}
