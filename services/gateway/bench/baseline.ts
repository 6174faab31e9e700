// The naive design's gateway-side figures, measured exactly as ours are: a database of
// the same schema whose five tables carry the whole-row pg_notify trigger instead of the
// outbox's, and NaiveServer broadcasting what its one listener hears. (Its write figures
// come from the writes bench, where it alternates with ours and with no trigger.)
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger, ensureDatabase, freePort, runMigrations, startCluster } from '@realtime/db';
import { makeNaiveDatabase } from '../../../db/bench/naive';
import { out } from '../../../db/bench/stats';
import { liveOptions, serverFigures, type ServerResult } from './gateway';
import { NaiveServer } from './naive-server';

const log = createLogger('warn', { service: 'bench' });

export async function baselineBench(argv: string[]): Promise<ServerResult> {
  const { seconds, rounds } = liveOptions(argv);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-bench-'));
  await fs.chmod(root, 0o755);
  const cluster = await startCluster({ dataDir: path.join(root, 'data'), port: await freePort(), throwaway: true, log, settings: { max_connections: 100 } });
  let server: NaiveServer | null = null;
  const httpServer = http.createServer();
  try {
    await ensureDatabase(cluster.url(), 'naive');
    const url = cluster.url('naive');
    await runMigrations(url, log);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await makeNaiveDatabase(admin);
    await admin.end();
    server = new NaiveServer(httpServer, url, log);
    await server.start();
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    const port = (httpServer.address() as AddressInfo).port;
    out(`baseline: whole row through pg_notify, one listener broadcasting to Socket.IO; live latency over ${seconds} s; ${rounds} rounds each; ${os.cpus().length} cores`);
    // The naive server checks no token; the clients send one anyway.
    const result = await serverFigures(url, port, 'none', seconds, rounds);
    out('');
    out(`  live p50 / p95 / p99, 100 clients at 1,000 changes/s: ${result.live100.p50} / ${result.live100.p95} / ${result.live100.p99} ms (medians)`);
    out(`  live p50 / p95 / p99, 1,000 clients at 100 changes/s: ${result.live1000.p50} / ${result.live1000.p95} / ${result.live1000.p99} ms (medians)`);
    out(`  changes missed by a client away ~1 s: ${result.loss.missed} of ${result.loss.written} (median); replay: none`);
    return result;
  } finally {
    await server?.stop().catch(() => undefined);
    await new Promise((r) => httpServer.close(r));
    await cluster.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}
