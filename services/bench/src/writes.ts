// Write throughput with the outbox trigger against the same table without it and with
// the naive design's trigger (the whole row through pg_notify, one listener reading):
// 8 concurrent writers updating random rows by id (pgbench's simple-update shape), in
// alternating rounds on one throwaway cluster, so all figures share the same noise.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureDatabase, freePort, runMigrations, startCluster } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { BenchArgsError, positiveInts } from './args';
import { NAIVE_CHANNEL, installNaiveTrigger } from './naive';
import { fmt, median, out } from './stats';

type Variant = 'plain' | 'outbox' | 'outbox+notify' | 'naive';

const TABLE: Record<Variant, string> = { plain: 'projects_plain', outbox: 'projects', 'outbox+notify': 'projects', naive: 'projects_naive' };

/** Medians over the rounds, in transactions (or notifications) per second. */
export interface WritesResult {
  plain: number;
  outbox: number;
  outboxNotify: number;
  naive: number;
  /** Notifications the naive design's listener received per second while its writers ran. */
  naiveListener: number;
  rounds: number;
  postgres: string;
}

export async function writes(argv: string[]): Promise<WritesResult> {
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
  const { writers, seconds, rounds, rows } = positiveInts({ writers: values.writers, seconds: values.seconds, rounds: values.rounds, rows: values.rows });
  const syncCommit = values['synchronous-commit'];
  if (syncCommit !== 'on' && syncCommit !== 'off') throw new BenchArgsError(`--synchronous-commit must be on or off, got "${syncCommit}"`);

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
    await admin.query(`create table projects_naive (like projects including all)`);
    await installNaiveTrigger(admin, ['projects_naive']);
    const ids: Record<string, string[]> = {};
    for (const t of ['projects', 'projects_plain', 'projects_naive']) {
      await admin.query(`insert into ${t} (id, name) select gen_random_uuid(), 'p' || g from generate_series(1, $1) g`, [rows]);
      ids[t] = (await admin.query<{ id: string }>(`select id from ${t}`)).rows.map((r) => r.id);
    }
    // The naive design's listener: one connection that parses every notification, as
    // the process broadcasting them would; its queue is what pg_notify writes into.
    const listener = new pg.Client({ connectionString: url, application_name: 'bench-listener' });
    await listener.connect();
    let heard = 0;
    listener.on('notification', (n) => {
      if (n.payload) JSON.parse(n.payload);
      heard++;
    });
    await listener.query(`LISTEN ${NAIVE_CHANNEL}`);

    const clients = await Promise.all(
      Array.from({ length: writers }, async () => {
        const c = new pg.Client({ connectionString: url, application_name: 'bench-writer' });
        await c.connect();
        return c;
      }),
    );
    const round = async (variant: Variant): Promise<{ tps: number; heard: number }> => {
      const table = TABLE[variant];
      await admin.query('update realtime_state set notify_enabled = $1', [variant === 'outbox+notify']);
      await admin.query(`vacuum analyze ${table}`);
      await admin.query('checkpoint');
      const pool = ids[table]!;
      const sql = `update ${table} set name = $1, updated_at = now() where id = $2`;
      const until = Date.now() + seconds * 1000;
      let done = 0;
      heard = 0;
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
      const heardInTime = heard;
      // The next round starts with an empty queue, so that its writers pay for their own.
      for (let i = 0; variant === 'naive' && heard < done && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
      return { tps: done / elapsed, heard: heardInTime / elapsed };
    };

    const { rows: settings } = await admin.query(`select current_setting('server_version') v, current_setting('wal_level') w`);
    out(`writes: ${writers} writers, single-row UPDATE by id on ${fmt(rows)} rows, ${rounds} alternating rounds of ${seconds} s`);
    out(`        Postgres ${settings[0].v} (embedded), wal_level=${settings[0].w}, synchronous_commit=${syncCommit}, ${os.cpus().length} cores`);
    const results: Record<Variant, number[]> = { plain: [], outbox: [], 'outbox+notify': [], naive: [] };
    const listened: number[] = [];
    const variants: Variant[] = ['plain', 'outbox', 'outbox+notify', 'naive'];
    await round('plain'); // warm-up, not counted
    for (let r = 1; r <= rounds; r++) {
      const line: string[] = [];
      for (const v of r % 2 ? variants : [...variants].reverse()) {
        const { tps, heard: h } = await round(v);
        results[v].push(tps);
        if (v === 'naive') listened.push(h);
        line.push(`${v} ${fmt(tps)} tps`);
      }
      out(`  round ${r}/${rounds}: ${line.join(', ')}`);
    }
    const plain = median(results.plain);
    const outbox = median(results.outbox);
    const notify = median(results['outbox+notify']);
    const naive = median(results.naive);
    const naiveListener = median(listened);
    out('');
    out('  variant                         median tps   ratio to no trigger');
    out(`  no trigger                      ${fmt(plain).padStart(10)}   1.00`);
    out(`  outbox trigger (WAL mode)       ${fmt(outbox).padStart(10)}   ${(outbox / plain).toFixed(2)}  (goal 0.75 or better: ${outbox / plain >= 0.75 ? 'met' : 'missed'})`);
    out(`  outbox + pg_notify (NOTIFY)     ${fmt(notify).padStart(10)}   ${(notify / plain).toFixed(2)}  (only while the replicator has no WAL)`);
    out(`  baseline: whole row pg_notify   ${fmt(naive).padStart(10)}   ${(naive / plain).toFixed(2)}  (its listener heard ${fmt(naiveListener)}/s)`);
    await Promise.all(clients.map((c) => c.end()));
    await listener.end();
    await admin.end();
    return { plain, outbox, outboxNotify: notify, naive, naiveListener, rounds, postgres: String(settings[0].v) };
  } finally {
    await cluster.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}
