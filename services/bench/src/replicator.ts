// Replicator throughput and latency, measured against a bare pg-logical-replication
// consumer on the same data in the same run. Throughput: N outbox rows are committed
// while nobody reads; then the bare consumer drains its own slot (the ceiling: decode
// only), then the replicator drains its slot (decode, stamp, persist, deliver in-process).
// Latency: a steady write rate with the replicator live, commit to in-process delivery.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { ensureDatabase, freePort, runMigrations, startCluster } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { dropDatabase } from '@realtime/db/testing-sql';
import { Replicator, type ReplicatorConfig } from '@realtime/replicator';
import { positiveInts } from './args';
import { fmt, latencyMs, median, out, percentile, wallClockMs } from './stats';

const log = createLogger('warn', { service: 'bench' });
const replicator = (url: string, over: Partial<ReplicatorConfig> = {}) =>
  new Replicator({ directUrl: url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 5000, lingerMs: 5, safetyPollMs: 1000, walRetryMs: 10_000, log, ...over });

async function writeRows(url: string, total: number, perTx: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (let done = 0; done < total; done += perTx) {
    await client.query(`INSERT INTO projects (name) SELECT 'bench ' || g FROM generate_series(1, $1::int) g`, [Math.min(perTx, total - done)]);
  }
  await client.end();
}

async function bareConsumer(url: string, slot: string, expected: number): Promise<number> {
  const service = new LogicalReplicationService({ connectionString: url }, { acknowledge: { auto: true, timeoutSeconds: 10 } });
  let seen = 0;
  const started = process.hrtime.bigint();
  const done = new Promise<void>((resolve) => {
    service.on('data', (_lsn: string, msg: { tag: string }) => {
      if (msg.tag === 'insert' && ++seen === expected) resolve();
    });
  });
  void service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: ['realtime_outbox'] }), slot).catch(() => undefined);
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await service.destroy();
  return expected / seconds;
}

async function replicatorDrain(url: string, expected: number): Promise<number> {
  const r = replicator(url);
  let delivered = 0;
  const started = process.hrtime.bigint();
  const done = new Promise<void>((resolve) =>
    r.onStamped((changes) => {
      delivered += changes.length;
      if (delivered >= expected) resolve();
    }),
  );
  await r.start();
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await r.stop();
  return expected / seconds;
}

async function latency(url: string, rate: number, seconds: number): Promise<number[]> {
  const r = replicator(url);
  const samples: number[] = [];
  r.onStamped((changes) => {
    const now = wallClockMs();
    for (const c of changes) samples.push(latencyMs(c.committedAt, now));
  });
  await r.start();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await new Promise((res) => setTimeout(res, 500));
  samples.length = 0;
  const perTick = Math.max(1, Math.round(rate / 100));
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const tick = Date.now();
    await client.query(`INSERT INTO projects (name) SELECT 'lat ' || g FROM generate_series(1, $1::int) g`, [perTick]);
    await new Promise((res) => setTimeout(res, Math.max(0, 10 - (Date.now() - tick))));
  }
  await new Promise((res) => setTimeout(res, 500));
  await client.end();
  await r.stop();
  return samples;
}

/** Medians over the rounds. */
export interface ReplicatorResult {
  ceiling: number;
  ours: number;
  latency: { p50: number; p95: number; p99: number };
  rounds: number;
}

export async function replicatorBench(argv: string[]): Promise<ReplicatorResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '3' },
      'per-tx': { type: 'string', default: '100' },
      seconds: { type: 'string', default: '5' },
    },
  });
  const { rows, rounds, 'per-tx': perTx, seconds } = positiveInts(values);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-bench-'));
  await fs.chmod(root, 0o755);
  const cluster = await startCluster({ dataDir: path.join(root, 'data'), port: await freePort(), throwaway: true, log });
  try {
    out(`replicator: ${fmt(rows)} outbox rows per round (${perTx} per transaction), ${rounds} rounds, ${os.cpus().length} cores`);
    const ceiling: number[] = [];
    const ours: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const name = `bench_${round}`;
      await ensureDatabase(cluster.url(), name);
      const url = cluster.url(name);
      await runMigrations(url, log);
      // A replicator that ran once has its slot, ready; then both slots wait for the rows.
      const warm = replicator(url);
      await warm.start();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      for (let i = 0; (await admin.query(`SELECT mode FROM realtime_state`)).rows[0].mode !== 'wal'; i++) {
        if (i > 100) throw new Error(`round ${round}: the replicator did not reach WAL mode: ${warm.status().reason}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await warm.stop();
      await admin.query(`SELECT pg_create_logical_replication_slot('bench_bare', 'pgoutput')`);
      await writeRows(url, rows, perTx);
      const bare = await bareConsumer(url, 'bench_bare', rows);
      const stamped = await replicatorDrain(url, rows);
      await admin.query(`SELECT pg_drop_replication_slot('bench_bare')`);
      const { rows: check } = await admin.query(`SELECT count(*)::int AS n, count(DISTINCT seq)::int AS d, max(seq)::int AS m FROM change_outbox`);
      if (check[0].n !== rows || check[0].d !== rows || check[0].m !== rows) throw new Error(`round ${round}: stamps are not 1..${rows}: ${JSON.stringify(check[0])}`);
      await admin.end();
      // Slot names are per server: this round's slot goes with its database.
      await dropDatabase(cluster.url(), name);
      ceiling.push(bare);
      ours.push(stamped);
      out(`  round ${round}/${rounds}: bare consumer ${fmt(bare)} changes/s, replicator ${fmt(stamped)} changes/s (stamped 1..${fmt(rows)}, checked)`);
    }
    const c = median(ceiling);
    const o = median(ours);
    await ensureDatabase(cluster.url(), 'bench_latency');
    const latUrl = cluster.url('bench_latency');
    await runMigrations(latUrl, log);
    const lat: { p50: number; p95: number; p99: number; n: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const samples = await latency(latUrl, 2000, seconds);
      lat.push({ p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99), n: samples.length });
      const l = lat.at(-1)!;
      out(`  latency round ${round}/${rounds} at ~2,000 changes/s: p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms (${fmt(l.n)} changes)`);
    }
    const latency50 = median(lat.map((l) => l.p50));
    const latency95 = median(lat.map((l) => l.p95));
    const latency99 = median(lat.map((l) => l.p99));
    out('');
    out('  figure                                         median');
    out(`  bare pg-logical-replication consumer (ceiling) ${fmt(c).padStart(8)} changes/s`);
    out(`  replicator: commit to in-process delivery      ${fmt(o).padStart(8)} changes/s   ${(o / c).toFixed(2)} of the ceiling`);
    out(`  goal: 25,000 changes/s and 0.25 of the ceiling: ${o >= 25_000 && o / c >= 0.25 ? 'met' : 'missed'}`);
    out(`  latency at ~2,000 changes/s, commit to delivery (medians): p50 ${latency50} ms, p95 ${latency95} ms, p99 ${latency99} ms`);
    return { ceiling: c, ours: o, latency: { p50: latency50, p95: latency95, p99: latency99 }, rounds };
  } finally {
    await cluster.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}
