// The live window against the real thing: the whole app (`npm start`'s main) on a real
// Postgres, its gateway streaming to @realtime/client over Socket.IO, the API's keyset
// pages, and SQL writers that are not the API (inserts with tied and same-millisecond
// sort values, sort-key updates, filter moves, deletes, primary key changes, moves
// between projects) running while the window loads more pages at random moments. After
// every settled round, the window's rows and total equal the SQL query for its end. The
// run is seeded: a failure prints the seed (WINDOW_SEED=<n> runs the same plan again;
// timing across processes is not part of the seed).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testLoginEnv, useTestDatabase } from '@realtime/db/testing';
import { sleep, startMain, waitFor, type RunningMain } from '@realtime/testkit';
import { createRealtime, LiveWindowController, type LiveWindow, type RealtimeClient } from '@realtime/client';
import type { ListPage } from '@realtime/protocol';
import { rng, type Rng } from '../src/rng';

const fx = useTestDatabase();
const SECRET = 'window-property-secret-0123456789abcdef';
const SEED = Number(process.env.WINDOW_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = 25;
const PAGE = 17;
const STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;

type Job = { id: string; projectId: string; documentName: string; status: string; createdAt: string; version: number } & Record<string, unknown>;

let app: RunningMain;
let pool: pg.Pool;
let cookie: string;
let client: RealtimeClient;
const projects: string[] = [];

beforeAll(async () => {
  const demoFile = path.join(mkdtempSync(path.join(tmpdir(), 'window-property-')), 'demo-users.txt');
  app = await startMain('server', {
    env: {
      DATABASE_URL: fx.db.url,
      ...testLoginEnv(fx.db.url),
      PORT: '0',
      DEMO: '1',
      // The demo's own writes go to its own projects, rarely.
      SIMULATOR_INTERVAL_MS: '60000',
      DEMO_USERS_FILE: demoFile,
      REALTIME_JWT_SECRET: SECRET,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
    },
  });
  pool = new pg.Pool({ connectionString: fx.db.url, max: 4 });
  const email = 'owner@demo.example';
  const password = new RegExp(`${email.replace('.', '\\.')}\\s+(\\S+)`).exec(readFileSync(demoFile, 'utf8'))![1]!;
  const res = await fetch(`${app.base}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  expect(res.status).toBe(200);
  cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  for (const name of ['window', 'elsewhere']) projects.push(((await api('POST', 'projects', { name })) as { id: string }).id);
  client = createRealtime({
    url: app.base,
    getToken: async () => {
      const t = (await api('GET', 'realtime/token')) as { token: string; expiresAt: string };
      return { token: t.token, expiresAt: Date.parse(t.expiresAt) };
    },
  });
  client.start();
}, 180_000);

afterAll(async () => {
  client?.stop();
  await pool?.end();
  await app?.stop();
});

async function api(method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${app.base}/api/${route}`, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} /api/${route}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

const pageOf = (query: URLSearchParams) => api('GET', `extraction-jobs?${query}`) as Promise<ListPage<Job>>;

/** Jobs in one statement, `ties` to a millisecond and some a microsecond apart inside it. */
async function seed(project: string, n: number, r: Rng): Promise<void> {
  const base = Date.UTC(2026, 0, 1) + r.int(0, 10_000);
  await pool.query(
    `INSERT INTO extraction_jobs (project_id, document_name, status, created_at)
     SELECT $1, 'seed-' || g, (ARRAY['queued','processing','completed','failed'])[1 + (g * $3) % 4],
            to_timestamp($2::float8 / 1000) + (g / 4) * interval '1 millisecond' + (g % 3) * interval '1 microsecond'
       FROM generate_series(1, $4) g`,
    [project, base, r.int(1, 7), n],
  );
}

/** One random write by SQL, as a writer other than the API makes it. */
async function randomWrite(r: Rng, project: string): Promise<void> {
  const pick = async (): Promise<{ id: string; created_at: Date } | undefined> =>
    (await pool.query<{ id: string; created_at: Date }>(`SELECT id, created_at FROM extraction_jobs WHERE project_id = $1 ORDER BY random() LIMIT 1`, [project])).rows[0];
  const kind = r.pick(['insert', 'insert-tie', 'sort-key', 'status', 'delete', 'key', 'move-out', 'move-in'] as const);
  const status = r.pick(STATUSES);
  if (kind === 'insert') {
    await pool.query(`INSERT INTO extraction_jobs (project_id, document_name, status, created_at) VALUES ($1, $2, $3, now() - $4 * interval '1 second')`, [project, `w-${r.int(0, 1e9)}`, status, r.int(0, 40_000_000)]);
    return;
  }
  const row = await pick();
  if (!row) return;
  switch (kind) {
    case 'insert-tie':
      // The same instant as a row already there, or the same millisecond a few microseconds on.
      await pool.query(`INSERT INTO extraction_jobs (project_id, document_name, status, created_at) SELECT $1, $2, $3, created_at + $5 * interval '1 microsecond' FROM extraction_jobs WHERE id = $4`, [
        project,
        `t-${r.int(0, 1e9)}`,
        status,
        row.id,
        r.int(0, 1) * r.int(0, 900),
      ]);
      return;
    case 'sort-key':
      await pool.query(`UPDATE extraction_jobs SET created_at = created_at + $2 * interval '1 second' WHERE id = $1`, [row.id, r.int(-400_000_000, 400_000_000)]);
      return;
    case 'status':
      await pool.query(`UPDATE extraction_jobs SET status = $2 WHERE id = $1`, [row.id, status]);
      return;
    case 'delete':
      await pool.query(`DELETE FROM extraction_jobs WHERE id = $1`, [row.id]);
      return;
    case 'key':
      await pool.query(`UPDATE extraction_jobs SET id = gen_random_uuid() WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM extraction_results WHERE job_id = $1)`, [row.id]);
      return;
    case 'move-out':
      await pool.query(`UPDATE extraction_jobs SET project_id = $2 WHERE id = $1`, [row.id, projects[1]]);
      return;
    case 'move-in':
      await pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = (SELECT id FROM extraction_jobs WHERE project_id = $2 ORDER BY random() LIMIT 1)`, [project, projects[1]]);
      return;
  }
}

/**
 * The client over a bad network: each batch and resync reaches the window after a random
 * lag, in order, so that the socket falls behind the HTTP reads and a page's snapshot
 * holds changes that arrive only after it is merged.
 */
function laggy(r: Rng): Pick<RealtimeClient, 'subscribe'> {
  return {
    subscribe(spec, handlers) {
      let chain = Promise.resolve();
      const later = (fn: () => void) => {
        const lag = r.int(0, 80);
        chain = chain.then(() => sleep(lag)).then(fn);
      };
      return client.subscribe(spec, {
        ...handlers,
        onChanges: (events) => later(() => handlers.onChanges(events)),
        onResync: (reason) => later(() => handlers.onResync?.(reason)),
      });
    },
  };
}

/**
 * The window as an app holds one: @realtime/client's controller over the API's keyset
 * pages, each page's answer also held back a random while (a slow HTTP answer: changes
 * it does not hold arrive before it).
 */
function openWindow(filter: Record<string, string>, r: Rng): LiveWindowController<Job> {
  const win = new LiveWindowController<Job>({
    client: laggy(r.fork(1)),
    channel: 'extraction_jobs',
    filter,
    fetchPage: async ({ after }) => {
      const q = new URLSearchParams({ ...filter, limit: String(PAGE) });
      if (after) q.set('after', after);
      const page = await pageOf(q);
      await sleep(r.int(0, 80));
      return page;
    },
  });
  win.start();
  return win;
}

/** What the window must hold: the filtered set up to its end, in its order, as SQL reads it. */
async function truth(w: LiveWindow<Job>, filter: Record<string, string>): Promise<{ ids: string[]; total: number }> {
  const where = [`project_id = $1`];
  const params: unknown[] = [filter.projectId];
  if (filter.status) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  const sortKey = `date_trunc('milliseconds', created_at AT TIME ZONE 'UTC')`;
  const total = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM extraction_jobs WHERE ${where.join(' AND ')}`, params)).rows[0]!.n);
  let upTo = '';
  if (w.end) {
    params.push(w.end[0], w.end[1]);
    // Newest first: the window holds the rows at or after its end in that order.
    upTo = ` AND (${sortKey}, id) >= ((($${params.length - 1})::timestamptz AT TIME ZONE 'UTC'), $${params.length}::uuid)`;
  }
  const ids = (await pool.query<{ id: string }>(`SELECT id FROM extraction_jobs WHERE ${where.join(' AND ')}${upTo} ORDER BY ${sortKey} DESC, id DESC`, params)).rows.map((r) => r.id);
  return { ids, total };
}

/**
 * Every change written so far is stamped and the window has applied (or skipped) it: a
 * marker row of its filtered set, the oldest of all, is written last and waited for. It
 * stays, one more row of the set, so that nothing follows it before the comparison.
 */
async function settle(win: LiveWindowController<Job>, filter: Record<string, string>): Promise<void> {
  const marker = `marker-${Math.random()}`;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO extraction_jobs (project_id, document_name, status, created_at) VALUES ($1, $2, $3, '1990-01-01') RETURNING id`,
    [filter.projectId, marker, filter.status ?? 'queued'],
  );
  const seq = await waitFor(
    'the marker stamped',
    async () => (await pool.query<{ seq: string | null }>(`SELECT max(seq) AS seq FROM change_outbox WHERE row_id = $1`, [rows[0]!.id])).rows[0]?.seq ?? null,
    30_000,
  );
  await waitFor(`the window at seq ${seq}`, () => {
    const w = win.state.window;
    return w && w.seq >= Number(seq) && win.state.loading === null ? true : null;
  }, 30_000);
}

test.each([
  ['one project, newest first', (p: string) => ({ projectId: p })],
  ['one status of one project', (p: string) => ({ projectId: p, status: 'processing' })],
])(`the window equals SQL after every settled round while writers and loadMore race: %s (seed ${SEED})`, async (_name, filterOf) => {
  const r = rng(SEED);
  const project = projects[0]!;
  await pool.query(`DELETE FROM extraction_jobs`);
  await seed(project, 300, r);
  await seed(projects[1]!, 40, r);
  const filter = filterOf(project) as Record<string, string>;
  const win = openWindow(filter, r.fork(99));
  await waitFor('the first page', () => win.state.window, 30_000);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const writes: Promise<void>[] = [];
      for (let writer = 0; writer < 3; writer++) {
        const wr = r.fork(round * 10 + writer);
        writes.push(
          (async () => {
            const n = wr.int(3, 12);
            for (let i = 0; i < n; i++) {
              await randomWrite(wr, project);
              // The next page asked between two writes of this writer, while the others
              // go on: changes arrive while it is read, some of them in its snapshot.
              if (writer === 0 && wr.chance(0.2)) await win.loadMore();
            }
          })(),
        );
      }
      await Promise.all(writes);
      expect(win.state.error, `seed ${SEED}, round ${round}`).toBeNull();
      await settle(win, filter);
      const w = win.state.window!;
      const expected = await truth(w, filter);
      const label = `seed ${SEED}, round ${round}, end ${JSON.stringify(w.end)}`;
      expect(w.items.map((j) => j.id), label).toEqual(expected.ids);
      expect(w.total, label).toBe(expected.total);
      expect(new Set(w.items.map((j) => j.id)).size, label).toBe(w.items.length);
    }
    // Every row is reachable: the window loads to the end and then holds the whole set.
    while (win.state.window!.next !== null) {
      await win.loadMore();
      expect(win.state.error, `seed ${SEED}`).toBeNull();
    }
    await settle(win, filter);
    const w = win.state.window!;
    const all = await truth(w, filter);
    expect(w.end, `seed ${SEED}`).toBeNull();
    expect(w.items.map((j) => j.id), `seed ${SEED}`).toEqual(all.ids);
    expect(w.items.length, `seed ${SEED}`).toBe(all.total);
  } finally {
    win.stop();
  }
}, 240_000);
