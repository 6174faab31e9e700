// `npm start`'s replicator runs in a worker thread: it leads and stamps, its log lines reach
// the process's stdout with their context, /metrics carries its metrics once (one HELP and
// TYPE per name), /status shows it, and SIGTERM steps it down and frees the leader lock.
// REPLICATOR_THREAD=0 keeps it on the main thread with the same face.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { useTestDatabase } from '@realtime/db/testing';
import { waitFor } from '@realtime/gateway/test-helpers';
import { PROCESS_METRICS_TOKEN, signIn, startApp } from './spawn';

const fx = useTestDatabase();
const bearer = { authorization: `Bearer ${PROCESS_METRICS_TOKEN}` };
const LEADER_LOCK = 0x72747370;
let operatorPassword: string | undefined;
const demoFile = path.join(mkdtempSync(path.join(tmpdir(), 'demo-users-')), 'demo-users.txt');

/** Every `# HELP` and `# TYPE` name, with how often it occurs. */
function headerCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^# (HELP|TYPE) (\S+)/gm)) counts.set(`${m[1]} ${m[2]}`, (counts.get(`${m[1]} ${m[2]}`) ?? 0) + 1);
  return counts;
}

test.each([
  ['in a worker thread', '1'],
  ['on the main thread (REPLICATOR_THREAD=0)', '0'],
])('npm start with its replicator %s: leads, logs, /metrics once per name, /status, a clean SIGTERM', async (_how, thread) => {
  const app = await startApp(fx.db.url, { LOG_LEVEL: 'info', REPLICATOR_THREAD: thread, DEMO: '1', SIMULATOR_INTERVAL_MS: '60000', DEMO_USERS_FILE: demoFile });
  let stopped = false;
  try {
    // /status is for operators: the demo operator, whose password the first start wrote to
    // the file its banner names (the output is a pipe, so it is not printed).
    if (!operatorPassword) {
      expect(app.output()).not.toMatch(/operator@demo\.example\s+\S{12,}/);
      const file = /Their passwords are in (\S+) \(readable by its owner only/.exec(app.output())?.[1];
      expect(file).toBe(demoFile);
      expect(statSync(file!).mode & 0o777).toBe(0o600);
      operatorPassword = /operator@demo\.example\s+(\S+)/.exec(readFileSync(file!, 'utf8'))?.[1];
    }
    const operator = await signIn(app.base, 'operator@demo.example', operatorPassword!);
    const status = await waitFor('the replicator to lead', async () => {
      const s = (await (await fetch(`${app.base}/status`, { headers: operator })).json()) as { process: { role: string; mode: string; identity: string } | null };
      return s.process?.role === 'leader' && s.process.mode === 'wal' ? s.process : null;
    });
    // The replicator's lines, from whichever thread, in the process's stdout with their context.
    const line = app
      .output()
      .split('\n')
      .find((l) => l.includes('leader: stamping from here'));
    expect(JSON.parse(line!)).toMatchObject({ service: 'realtime', component: 'replicator', slot: 'realtime_outbox', pid: app.pid, level: 30 });
    expect(status.identity).toContain(`:${app.pid}:`);
    expect(app.output().includes('"msg":"replicator thread running"')).toBe(thread === '1');
    expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
    const { rows: head } = await fx.pool.query(`SELECT coalesce(max(seq), 0)::int AS h FROM change_outbox`);
    const headBefore = head[0].h as number;

    await fx.pool.query(`INSERT INTO projects (name) SELECT 'thread ' || g FROM generate_series(1, 25) g`);
    const mine = await waitFor('the rows to be stamped', async () => {
      const { rows } = await fx.pool.query(`SELECT count(seq)::int AS n, max(seq)::int AS max FROM change_outbox WHERE table_name = 'projects' AND new_row->>'name' LIKE 'thread %' AND seq > $1`, [headBefore]);
      return rows[0].n === 25 ? (rows[0].max as number) : null;
    });
    await waitFor('the stamps to show in /metrics', async () => (await app.metric('realtime_changes_stamped_total')) >= 25 && (await app.metric('realtime_head_seq')) >= mine);
    const text = await (await fetch(`${app.base}/metrics`, { headers: bearer })).text();
    const counts = headerCounts(text);
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    expect(counts.get('HELP realtime_changes_stamped_total')).toBe(1);
    expect(counts.get('TYPE realtime_changes_stamped_total')).toBe(1);
    expect(text.match(/^realtime_changes_stamped_total \d+$/gm)).toHaveLength(1);
    expect(text.match(/^realtime_replicator_mode\{mode="wal"\} 1$/gm)).toHaveLength(1);
    // Gauges read on the main thread at scrape time are there once too.
    expect(counts.get('TYPE realtime_head_seq')).toBe(1);

    await app.stop();
    stopped = true;
    expect(app.output()).toMatch(/"msg":"replicator stopped"/);
    const { rows } = await fx.pool.query(`SELECT mode, leader FROM realtime_state`);
    expect(rows[0].mode).toBe('down');
    const { rows: locks } = await fx.pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1`, [LEADER_LOCK]);
    expect(locks[0].n).toBe(0);
  } finally {
    if (!stopped) await app.stop();
  }
});
