// Gateway figures, in one run on one throwaway cluster with the real replicator and
// gateway: replay rate to one client, and live commit-to-client latency with 100
// clients at 1,000 changes/s and with 1,000 clients at 100 changes/s (the clients run
// in a child process of their own).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { io } from 'socket.io-client';
import { createLogger, ensureDatabase, freePort, runMigrations, startCluster } from '@realtime/db';
import { Replicator } from '@realtime/replicator';
import { Feed } from '../src/feed';
import { Gateway } from '../src/gateway';
import { loadChannelColumns } from '../src/channels';
import { signToken } from '../src/auth/token';
import { fmt, median, out } from '../../../db/bench/stats';

const here = path.dirname(fileURLToPath(import.meta.url));
const log = createLogger('warn', { service: 'bench' });
const secret = new TextEncoder().encode('bench-secret-bench-secret-bench-secret');

async function replayRate(port: number, token: string, expected: number): Promise<number> {
  const socket = io(`http://127.0.0.1:${port}`, { path: '/ws', transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  let received = 0;
  const started = process.hrtime.bigint();
  const done = new Promise<void>((resolve) => socket.on('live', () => resolve()));
  socket.on('change', () => received++);
  await socket.emitWithAck('subscribe', { channel: 'projects', since: 0 });
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  socket.disconnect();
  if (received !== expected) throw new Error(`replay delivered ${received} changes, expected ${expected}`);
  return expected / seconds;
}

interface Latency {
  p50: number;
  p95: number;
  p99: number;
  delivered: number;
  connected: number;
}

async function liveLatency(url: string, port: number, token: string, clients: number, rate: number, seconds: number): Promise<Latency> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'clients.ts'), String(port), token, String(clients), 'extraction_jobs'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let outText = '';
  child.stdout.on('data', (d: Buffer) => (outText += d.toString()));
  for (let i = 0; !outText.includes('ready'); i++) {
    if (i > 600) throw new Error(`clients did not connect: ${outText.slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  const { rows } = await writer.query(`INSERT INTO projects (name) VALUES ('latency') RETURNING id`);
  const project = rows[0].id as string;
  // Writes in ticks of 10 ms, one transaction per tick.
  const perTick = Math.max(1, Math.round(rate / 100));
  const until = Date.now() + seconds * 1000;
  let written = 0;
  while (Date.now() < until) {
    const tick = Date.now();
    await writer.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'bench.pdf' FROM generate_series(1, $2::int)`, [project, perTick]);
    written += perTick;
    await new Promise((r) => setTimeout(r, Math.max(0, 10 - (Date.now() - tick))));
  }
  await new Promise((r) => setTimeout(r, 1500));
  await writer.end();
  const result = new Promise<string>((resolve) => child.stdout.on('end', () => resolve(outText)));
  child.kill('SIGTERM');
  const line = (await result).split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error('the benchmark clients printed no summary');
  const r = JSON.parse(line) as { connected: number; count: number; p50: number; p95: number; p99: number };
  return { p50: r.p50, p95: r.p95, p99: r.p99, delivered: r.count / Math.max(1, written * clients), connected: r.connected };
}

export async function gatewayBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { rows: { type: 'string', default: '50000' }, seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
  const rows = Number(values.rows);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
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
    const gateway = new Gateway({ httpServer: server, pool, feed, log, channels, columns: await loadChannelColumns(pool, channels), frontendUrl: 'http://localhost', jwtSecret: secret, maxSubscriptions: 10, queueLimit: 100_000, pageSize: 2000 });
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

    out(`gateway: replay of ${fmt(rows)} changes to one client (${rounds} rounds); live latency over ${seconds} s; replicator linger 1 ms; ${os.cpus().length} cores`);
    for (let done = 0; done < rows; done += 1000) await pool.query(`INSERT INTO projects (name) SELECT 'replay ' || g FROM generate_series(1, 1000) g`);
    for (let i = 0; feed.position < rows; i++) {
      if (i > 600) throw new Error('the replicator did not stamp the rows in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    const replay: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      replay.push(await replayRate(port, token, rows));
      out(`  replay round ${r}/${rounds}: ${fmt(replay.at(-1)!)} changes/s`);
    }
    const a = await liveLatency(url, port, token, 100, 1000, seconds);
    out(`  100 clients, 1,000 changes/s: p50 ${a.p50} ms, p95 ${a.p95} ms, p99 ${a.p99} ms (${a.connected} connected, ${(a.delivered * 100).toFixed(1)}% of expected deliveries)`);
    const b = await liveLatency(url, port, token, 1000, 100, seconds);
    out(`  1,000 clients, 100 changes/s: p50 ${b.p50} ms, p95 ${b.p95} ms, p99 ${b.p99} ms (${b.connected} connected, ${(b.delivered * 100).toFixed(1)}% of expected deliveries)`);
    out('');
    out('  figure                                             measured      goal');
    out(`  replay to one client (median)                      ${fmt(median(replay)).padStart(8)}/s   50,000/s   ${median(replay) >= 50_000 ? 'met' : 'missed'}`);
    out(`  live p50, 100 clients at 1,000 changes/s           ${String(a.p50).padStart(8)} ms  5 ms       ${a.p50 <= 5 ? 'met' : 'missed'}`);
    out(`  live p99, 100 clients at 1,000 changes/s           ${String(a.p99).padStart(8)} ms  25 ms      ${a.p99 <= 25 ? 'met' : 'missed'}`);
    out(`  live p99, 1,000 clients at 100 changes/s           ${String(b.p99).padStart(8)} ms  150 ms     ${b.p99 <= 150 ? 'met' : 'missed'}`);
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await pool.end();
    await cluster.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}
