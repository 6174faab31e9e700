// `npm run outbox` against a real database, as operators run it: a child process per
// command, its output and its exit code.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createLogger } from '@realtime/runtime';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { Replicator } from '@realtime/replicator';
import { repoRoot } from '@realtime/testkit';

let db: TestDatabase;
let pool: pg.Pool;
let replicator: Replicator | null = null;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  peakMb: number;
}

function outbox(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/outbox/cli.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peakMb = 0;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakMb = Math.max(peakMb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      } catch {
        // gone already
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr, peakMb }));
  });
}
const jsonLines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const settled = async () => {
  for (let i = 0; i < 300; i++) {
    const { rows } = await pool.query(`SELECT count(*) FILTER (WHERE seq IS NULL)::int AS u FROM change_outbox`);
    if (rows[0].u === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('changes stayed unstamped');
};

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  replicator = new Replicator({ directUrl: db.url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 5000, lingerMs: 2, safetyPollMs: 200, walRetryMs: 1000, log: createLogger('silent') });
  await replicator.start();
});
afterAll(async () => {
  await replicator?.stop();
  await pool.end();
  await db.drop();
});

async function asActor<T>(actor: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('app.actor', $1, true)`, [actor]);
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } finally {
    c.release();
  }
}

describe('outbox CLI', () => {
  let projectId = '';
  beforeAll(async () => {
    projectId = await asActor('alice', async (c) => (await c.query(`INSERT INTO projects (name) VALUES ('Audit me') RETURNING id`)).rows[0].id);
    await asActor('bob', (c) => c.query(`UPDATE projects SET name = 'Audited', status = 'archived' WHERE id = $1`, [projectId]));
    await asActor('carol', (c) => c.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'd' || g || '.pdf' FROM generate_series(1, 30) g`, [projectId]));
    await settled();
  });

  test('stats: mode, head, backlog, floor; exit 0 when healthy', async () => {
    const r = await outbox(['stats', '--json']);
    expect(r.code).toBe(0);
    const s = jsonLines(r.stdout)[0]!;
    expect(s).toMatchObject({ mode: 'wal', headSeq: 32, backlog: 0, retentionFloor: 0, warnings: [] });
    expect(typeof s.slotLagBytes).toBe('number');
    const human = await outbox(['stats']);
    expect(human.stdout).toMatch(/mode\s+wal/);
    expect(human.stdout).toMatch(/head seq\s+32/);
  });

  test('list filters by table, op, row, actor, seq and time, and pages', async () => {
    const byActor = jsonLines((await outbox(['list', '--actor', 'bob', '--json'])).stdout);
    expect(byActor.map((r) => [r.op, r.row_id])).toEqual([['UPDATE', projectId]]);
    expect(jsonLines((await outbox(['list', '--table', 'extraction_jobs', '--op', 'INSERT', '--json', '--limit', '100'])).stdout)).toHaveLength(30);
    expect(jsonLines((await outbox(['list', '--row', projectId, '--json'])).stdout).map((r) => r.op)).toEqual(['UPDATE', 'INSERT']);
    expect(jsonLines((await outbox(['list', '--from-seq', '3', '--to-seq', '5', '--json'])).stdout).map((r) => Number(r.seq))).toEqual([5, 4, 3]);
    expect(jsonLines((await outbox(['list', '--since', '1h', '--json', '--limit', '100'])).stdout)).toHaveLength(32);
    expect(jsonLines((await outbox(['list', '--until', '2000-01-01T00:00:00Z', '--json'])).stdout)).toHaveLength(0);
    const page1 = jsonLines((await outbox(['list', '--json', '--limit', '10'])).stdout);
    expect(page1.map((r) => Number(r.seq))).toEqual([32, 31, 30, 29, 28, 27, 26, 25, 24, 23]);
    // The next page starts below the last id printed.
    const page2 = jsonLines((await outbox(['list', '--json', '--limit', '10', '--before', String(page1.at(-1)!.id)])).stdout);
    expect(page2.map((r) => Number(r.seq))).toEqual([22, 21, 20, 19, 18, 17, 16, 15, 14, 13]);
    const human = await outbox(['list', '--limit', '2']);
    expect(human.stdout).toMatch(/^id\s+seq\s+table_name\s+op/m);
    const secondId = String(page1[1]!.id);
    expect(human.stdout).toContain(`2 of 32 change(s) (older ones with --before ${secondId})`);
    const old = await outbox(['list', '--offset', '2']);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/--offset is no longer supported: page with --before/);
  });

  test('history shows every change of a row, oldest first, with the columns that changed', async () => {
    const r = await outbox(['history', 'projects', projectId]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^seq 1\s+INSERT\s+by alice/);
    const update = lines.findIndex((l) => /UPDATE\s+by bob/.test(l));
    expect(update).toBeGreaterThan(0);
    expect(lines.slice(update + 1, update + 4).join('\n')).toMatch(/name: "Audit me" -> "Audited"/);
    expect(lines.slice(update + 1, update + 4).join('\n')).toMatch(/status: "active" -> "archived"/);
    const json = jsonLines((await outbox(['history', 'projects', projectId, '--json'])).stdout);
    expect(json.map((h) => h.op)).toEqual(['INSERT', 'UPDATE']);
    // The trigger bumped the version of that SQL update too.
    expect((json[1]!.changes as { column: string }[]).map((c) => c.column).sort()).toEqual(['name', 'status', 'version']);
  });

  test('bad usage exits 2 and names the problem', async () => {
    for (const [args, message] of [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['list', '--op', 'MERGE'], /--op must be INSERT, UPDATE or DELETE/],
      [['list', '--limit', 'ten'], /--limit must be a whole number/],
      [['list', '--since', 'yesterday'], /--since must be a duration/],
      [['prune'], /exactly one of --older-than or --below-seq/],
      [['prune', '--older-than', '30 days'], /not a duration/],
      [['history', 'projects'], /expected 2 argument/],
      [['list', '--nope'], /nope/],
    ] as const) {
      const r = await outbox([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  test('tail follows new changes as they are stamped', async () => {
    // From the head read now: a process slow to start (a loaded machine) must not begin
    // after the rows below and wait for three more forever.
    const head = (await pool.query(`SELECT coalesce(max(seq), 0)::int AS h FROM change_outbox`)).rows[0].h as number;
    const run = outbox(['tail', '--from-seq', String(head), '--count', '3', '--json']);
    await new Promise((r) => setTimeout(r, 500));
    await pool.query(`INSERT INTO data_layers (project_id, name, kind, source) SELECT $1, 'L' || g, 'vector', 's' FROM generate_series(1, 3) g`, [projectId]);
    const r = await run;
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).map((l) => l.table_name)).toEqual(['data_layers', 'data_layers', 'data_layers']);
  });
});

describe('export and prune at scale', () => {
  test('export streams 100,000 changes as NDJSON in bounded memory', async () => {
    await pool.query(`INSERT INTO projects (name, description) SELECT 'bulk ' || g, repeat('x', 200) FROM generate_series(1, 100000) g`);
    await settled();
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM change_outbox`);
    const r = await outbox(['export']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(rows[0].n);
    expect(rows[0].n).toBeGreaterThanOrEqual(100_000);
    const last = JSON.parse(lines.at(-1)!) as { seq: number; new_row: { description: string } };
    expect(last.seq).toBe(rows[0].n);
    expect(last.new_row.description).toHaveLength(200);
    expect(r.stderr).toMatch(new RegExp(`exported ${rows[0].n} change`));
    process.stdout.write(`outbox export: ${lines.length} changes, ${(r.stdout.length / 1e6).toFixed(0)} MB of NDJSON, peak RSS ${r.peakMb.toFixed(0)} MB\n`);
    expect(r.peakMb).toBeLessThan(250);
  });

  test('prune: a dry run first, then a seq prefix only, never an unstamped row or one above the floor', async () => {
    // Unstamped rows: written while no replicator runs.
    await replicator!.stop();
    replicator = null;
    await pool.query(`INSERT INTO projects (name) VALUES ('unstamped 1'), ('unstamped 2')`);
    const before = (await pool.query(`SELECT count(*)::int AS n, count(seq)::int AS s, max(seq)::int AS head FROM change_outbox`)).rows[0];
    expect(before.n - before.s).toBe(2);

    const dry = jsonLines((await outbox(['prune', '--below-seq', '1001', '--json'])).stdout)[0]!;
    expect(dry).toMatchObject({ dryRun: true, count: 1000, fromSeq: 1, toSeq: 1000, belowSeq: 1001 });
    expect((await pool.query(`SELECT count(*)::int AS n FROM change_outbox`)).rows[0].n).toBe(before.n);

    const done = jsonLines((await outbox(['prune', '--below-seq', '1001', '--yes', '--json'])).stdout)[0]!;
    expect(done).toMatchObject({ dryRun: false, deleted: 1000, floor: 1000 });
    const after = (await pool.query(`SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi, count(*) FILTER (WHERE seq IS NULL)::int AS u FROM change_outbox`)).rows[0];
    expect(after).toEqual({ n: before.n - 1000, lo: 1001, hi: before.head, u: 2 });

    // Older than a minute: nothing (everything is newer); below a huge seq: every stamped row, no unstamped one.
    expect(jsonLines((await outbox(['prune', '--older-than', '1h', '--json'])).stdout)[0]).toMatchObject({ count: 0 });
    const all = jsonLines((await outbox(['prune', '--below-seq', '999999999', '--yes', '--json'])).stdout)[0]!;
    expect(all.deleted).toBe(before.s - 1000);
    expect((await pool.query(`SELECT count(*)::int AS n, count(seq)::int AS s FROM change_outbox`)).rows[0]).toEqual({ n: 2, s: 0 });
    // Stats report the new floor and warn about the unstamped backlog (no replicator).
    const st = await outbox(['stats', '--json']);
    expect(st.code).toBe(3);
    expect(jsonLines(st.stdout)[0]).toMatchObject({ backlog: 2, retentionFloor: before.head });

    // A replicator started after everything was pruned goes on from the recorded head:
    // seqs never start over, so no client ever sees a seq twice.
    replicator = new Replicator({ directUrl: db.url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 5000, lingerMs: 2, safetyPollMs: 200, walRetryMs: 1000, log: createLogger('silent') });
    await replicator.start();
    await pool.query(`INSERT INTO projects (name) VALUES ('after the prune')`);
    await settled();
    const { rows: seqs } = await pool.query(`SELECT seq::int FROM change_outbox ORDER BY seq`);
    expect(seqs.map((r) => r.seq)).toEqual([before.head + 1, before.head + 2, before.head + 3]);
  });
});
