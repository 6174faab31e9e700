// Write throughput with the outbox trigger against the same table without it: 8
// concurrent writers updating random rows by id (pgbench's simple-update shape), in
// alternating rounds on one throwaway cluster, so both figures share the same noise.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createLogger } from '../src/log';
import { ensureDatabase, freePort, startCluster } from '../src/embedded/cluster';
import { runMigrations } from '../src/migrate';
import { fmt, median, out } from './stats';


type Variant = 'plain' | 'outbox' | 'outbox+notify';

export async function writes(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      writers: { type: 'string', default: '8' },
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      rows: { type: 'string', default: '1000' },
      'synchronous-commit': { type: 'string', default: 'on' },
    },
  });
  const writers = Number(values.writers);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const rows = Number(values.rows);
  const syncCommit = values['synchronous-commit'];
  if (syncCommit !== 'on' && syncCommit !== 'off') throw new Error(`--synchronous-commit must be on or off, got "${syncCommit}"`);
  for (const [k, v] of Object.entries({ writers, seconds, rounds, rows })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive whole number, got "${String(values[k as keyof typeof values])}"`);
  }

  const log = createLogger('warn', { service: 'bench' });
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-bench-'));
  await fs.chmod(root, 0o755);
  const cluster = await startCluster({
    dataDir: path.join(root, 'data'),
    port: await freePort(),
    throwaway: true,
    // `on` is what users run; `off` makes commits cost CPU instead of disk flushes, so
    // the trigger's share of the work is as large as it gets (the harder ratio).
    settings: { synchronous_commit: syncCommit, max_connections: 50 },
    log,
  });
  try {
    await ensureDatabase(cluster.url(), 'bench');
    const url = cluster.url('bench');
    await runMigrations(url, log);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create table projects_plain (like projects including all)`);
    for (const t of ['projects', 'projects_plain']) {
      await admin.query(`insert into ${t} (id, name) select gen_random_uuid(), 'p' || g from generate_series(1, $1) g`, [rows]);
    }
    const ids = {
      projects: (await admin.query<{ id: string }>('select id from projects')).rows.map((r) => r.id),
      projects_plain: (await admin.query<{ id: string }>('select id from projects_plain')).rows.map((r) => r.id),
    };

    const clients = await Promise.all(
      Array.from({ length: writers }, async () => {
        const c = new pg.Client({ connectionString: url, application_name: 'bench-writer' });
        await c.connect();
        return c;
      }),
    );
    const round = async (variant: Variant): Promise<number> => {
      const table = variant === 'plain' ? 'projects_plain' : 'projects';
      await admin.query('update realtime_state set notify_enabled = $1', [variant === 'outbox+notify']);
      await admin.query(`vacuum analyze ${table}`);
      await admin.query('checkpoint');
      const pool = ids[table];
      const sql = `update ${table} set name = $1, updated_at = now() where id = $2`;
      const until = Date.now() + seconds * 1000;
      let done = 0;
      const started = process.hrtime.bigint();
      await Promise.all(
        clients.map(async (c, w) => {
          let i = w;
          while (Date.now() < until) {
            await c.query(sql, [`n${i}`, pool[(i * 7919) % pool.length]]);
            i++;
            done++;
          }
        }),
      );
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      return done / elapsed;
    };

    const { rows: settings } = await admin.query(`select current_setting('server_version') v, current_setting('wal_level') w`);
    out(`writes: ${writers} writers, single-row UPDATE by id on ${fmt(rows)} rows, ${rounds} alternating rounds of ${seconds} s`);
    out(`        Postgres ${settings[0].v} (embedded), wal_level=${settings[0].w}, synchronous_commit=${syncCommit}, ${os.cpus().length} cores`);
    const results: Record<Variant, number[]> = { plain: [], outbox: [], 'outbox+notify': [] };
    const variants: Variant[] = ['plain', 'outbox', 'outbox+notify'];
    await round('plain'); // warm-up, not counted
    for (let r = 1; r <= rounds; r++) {
      const line: string[] = [];
      for (const v of r % 2 ? variants : [...variants].reverse()) {
        const tps = await round(v);
        results[v].push(tps);
        line.push(`${v} ${fmt(tps)} tps`);
      }
      out(`  round ${r}/${rounds}: ${line.join(', ')}`);
    }
    const plain = median(results.plain);
    const outbox = median(results.outbox);
    const notify = median(results['outbox+notify']);
    out('');
    out('  variant                      median tps   ratio to no trigger');
    out(`  no trigger                   ${fmt(plain).padStart(10)}   1.00`);
    out(`  outbox trigger (WAL mode)    ${fmt(outbox).padStart(10)}   ${(outbox / plain).toFixed(2)}  (goal 0.75 or better: ${outbox / plain >= 0.75 ? 'met' : 'missed'})`);
    out(`  outbox + pg_notify (NOTIFY)  ${fmt(notify).padStart(10)}   ${(notify / plain).toFixed(2)}  (only while the replicator has no WAL)`);
    await Promise.all(clients.map((c) => c.end()));
    await admin.end();
  } finally {
    await cluster.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}
