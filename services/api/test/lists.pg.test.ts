// Keyset pages (issue 26) against a real Postgres, as the signed-in user under row-level
// security: every row of a filtered set exactly once whatever the ties and the direction,
// an exact total, and the items, total, stream cursor and page.snapshot of one
// transaction; every bad parameter a 400 before the database; and plans that start a
// page at its position in an index, however deep, with 100,000 jobs.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { integer, PgDialect, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';
import { projects } from '@realtime/db/schema';
import { decodeCursor } from '@realtime/auth';
import { snapshotHolds, type ListOrder, type PageSnapshot } from '@realtime/protocol';
import { loadResources } from '../src/resources';
import { listSpecOf, type ListSpec } from '../src/lists/spec';
import { encodeAfter, parseListQuery } from '../src/lists/params';
import { pageSql } from '../src/lists/sql';
import { secret, startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let owner: TestUser;
let stranger: TestUser;
let project = '';
let other = '';

beforeAll(async () => {
  fx = await startApi();
  owner = await fx.user('lists-owner@example.com');
  stranger = await fx.user('lists-stranger@example.com');
  project = (await fx.call('POST', '/api/projects', { name: 'Ties' }, owner)).body.id;
  other = (await fx.call('POST', '/api/projects', { name: 'Elsewhere' }, owner)).body.id;
  const statuses = `(ARRAY['queued', 'failed', 'completed', 'processing'])[1 + g % 4]`;
  // 40 jobs of one instant, 30 of one millisecond apart in microseconds, 25 a second
  // apart, and jobs of another project that no filtered page may show.
  await fx.sql(`INSERT INTO extraction_jobs (project_id, document_name, status, progress, created_at)
    SELECT $1, 'tie-' || g, ${statuses}, g % 3, '2026-01-01T00:00:00.123Z'::timestamptz FROM generate_series(1, 40) g`, [project]);
  await fx.sql(`INSERT INTO extraction_jobs (project_id, document_name, status, progress, created_at)
    SELECT $1, 'micro-' || g, ${statuses}, g % 3, '2026-01-01T00:00:00.500Z'::timestamptz + g * interval '7 microseconds' FROM generate_series(1, 30) g`, [project]);
  await fx.sql(`INSERT INTO extraction_jobs (project_id, document_name, status, progress, created_at)
    SELECT $1, 'apart-' || g, ${statuses}, g % 3, '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 second' FROM generate_series(1, 25) g`, [project]);
  await fx.sql(`INSERT INTO extraction_jobs (project_id, document_name, created_at) SELECT $1, 'other-' || g, '2026-01-01T00:00:00.123Z' FROM generate_series(1, 10) g`, [other]);
}, 120_000);
afterAll(async () => {
  await fx?.close();
});

interface Job {
  id: string;
  createdAt: string;
  status: string;
  projectId: string;
}

/** Every page of a list, following page.next, with each page's answer. */
async function pageThrough(query: Record<string, string>, as: TestUser = owner) {
  const ids: string[] = [];
  const answers: { items: Job[]; page: { next: string | null; total: number; limit: number; order: ListOrder; snapshot: PageSnapshot } }[] = [];
  let after: string | null = null;
  for (;;) {
    const qs = new URLSearchParams({ ...query, ...(after ? { after } : {}) });
    const res = await fx.call('GET', `/api/extraction-jobs?${qs}`, undefined, as);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    answers.push(res.body);
    ids.push(...res.body.items.map((j: Job) => j.id));
    after = res.body.page.next;
    if (after === null) return { ids, answers };
    expect(res.body.items.length).toBe(res.body.page.limit);
    if (answers.length > 1000) throw new Error('page.next never ran out');
  }
}

/** The same set and order, as SQL states it (the plain expression, not the API's function). */
async function expected(filter: { status?: string }, by: 'createdAt' | 'id', desc: boolean): Promise<string[]> {
  const dir = desc ? 'DESC' : 'ASC';
  const order = by === 'id' ? `id ${dir}` : `date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') ${dir}, id ${dir}`;
  const rows = await fx.sql<{ id: string }>(`SELECT id FROM extraction_jobs WHERE project_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY ${order}`, [project, filter.status ?? null]);
  return rows.map((r) => r.id);
}

describe('paging by after', () => {
  const cases = ['-createdAt', 'createdAt', '-id', 'id'].flatMap((orderBy) =>
    [1, 7, 50].flatMap((limit) => ([{}, { status: 'failed' }] as { status?: string }[]).map((filter) => ({ orderBy, limit, filter: filter as Record<string, string> }))),
  );

  test.each(cases)('orderBy=$orderBy limit=$limit $filter: every row once, as SQL orders them, ties and microseconds included', async ({ orderBy, limit, filter }) => {
    const { ids, answers } = await pageThrough({ projectId: project, orderBy, limit: String(limit), ...filter });
    const want = await expected(filter, orderBy.replace('-', '') as 'createdAt' | 'id', orderBy.startsWith('-'));
    expect(want.length).toBeGreaterThan(filter.status ? 20 : 90);
    expect(ids).toEqual(want);
    expect(new Set(ids).size).toBe(ids.length);
    for (const a of answers) {
      expect(a.page.total).toBe(want.length);
      expect(a.page.order).toEqual({ by: orderBy.replace('-', ''), desc: orderBy.startsWith('-'), key: 'id' });
      for (const j of a.items) expect([j.projectId, filter.status ?? j.status]).toEqual([project, j.status]);
    }
    expect(answers.at(-1)!.page.next).toBeNull();
  });

  test('the client orders as the server does: rows of one millisecond tie on createdAt as printed, the key breaks the tie', async () => {
    const { answers } = await pageThrough({ projectId: project, limit: '500' });
    const items = answers[0]!.items;
    const micro = items.filter((j) => j.createdAt === '2026-01-01T00:00:00.500Z');
    expect(micro.length).toBe(30);
    const cmp = (a: Job, b: Job) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
    expect(items.map((j) => j.id)).toEqual([...items].sort(cmp).map((j) => j.id));
  });

  test('the default order is today\'s: newest first, by createdAt, the key breaking ties', async () => {
    const res = await fx.call('GET', `/api/extraction-jobs?projectId=${project}&limit=3`, undefined, owner);
    expect(res.body.page.order).toEqual({ by: 'createdAt', desc: true, key: 'id' });
    expect(res.body.items.map((j: Job) => j.id)).toEqual((await expected({}, 'createdAt', true)).slice(0, 3));
  });

  test('filters on an integer and a boolean column, and a uuid of a parent', async () => {
    const zero = await pageThrough({ projectId: project, progress: '0', limit: '500' });
    const n = (await fx.sql<{ n: number }>(`SELECT count(*)::int AS n FROM extraction_jobs WHERE project_id = $1 AND progress = 0`, [project]))[0]!.n;
    expect(zero.ids.length).toBe(n);
    expect(zero.answers[0]!.page.total).toBe(n);
    const layer = (visible: boolean) => fx.call('POST', '/api/data-layers', { projectId: project, name: `l-${visible}`, kind: 'vector', source: 's', visible }, owner);
    const hidden = (await layer(false)).body.id;
    await layer(true);
    const layers = await fx.call('GET', `/api/data-layers?projectId=${project}&visible=false`, undefined, owner);
    expect(layers.body.items.map((l: { id: string }) => l.id)).toEqual([hidden]);
    expect(layers.body.page.total).toBe(1);
    const job = zero.ids[0]!;
    const result = (await fx.call('POST', '/api/extraction-results', { jobId: job, fieldName: 'f', value: 'v', confidence: 0.5 }, owner)).body.id;
    const results = await fx.call('GET', `/api/extraction-results?jobId=${job}`, undefined, owner);
    expect(results.body.items.map((r: { id: string }) => r.id)).toEqual([result]);
  });

  test('as the signed-in user under row-level security: a stranger sees no row and a total of 0', async () => {
    const res = await fx.call('GET', `/api/extraction-jobs?projectId=${project}`, undefined, stranger);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
    expect(res.body.page).toMatchObject({ next: null, total: 0 });
    const all = await pageThrough({ limit: '500' });
    expect(all.answers[0]!.page.total).toBe(95 + 10);
  });
});

describe('one transaction: items, total, cursor and snapshot', () => {
  test('page.snapshot is the cursor\'s snapshot and head, read in the list\'s transaction', async () => {
    const res = await fx.call('GET', `/api/extraction-jobs?projectId=${project}&limit=5`, undefined, owner);
    const cursor = decodeCursor(secret, res.body.cursor);
    const s = res.body.page.snapshot as PageSnapshot;
    expect(s.head).toBe(cursor.headSeq);
    expect(`${s.xmin}:${s.xmax}:${s.xip.join(',')}`).toBe(cursor.snapshotText);
  });

  test('a write in progress when the list is read is in neither its items nor its total, and its txid is not held by page.snapshot', async () => {
    const before = await fx.call('GET', `/api/extraction-jobs?projectId=${other}&limit=2`, undefined, owner);
    const writer = await fx.pool.connect();
    try {
      await writer.query('BEGIN');
      const [row] = (await writer.query<{ id: string; txid: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'in-flight') RETURNING id, pg_current_xact_id()::text AS txid`, [other])).rows;
      const during = await fx.call('GET', `/api/extraction-jobs?projectId=${other}&limit=2`, undefined, owner);
      await writer.query('COMMIT');
      const after = await fx.call('GET', `/api/extraction-jobs?projectId=${other}&limit=2`, undefined, owner);
      expect(during.body.page.total).toBe(before.body.page.total);
      expect(during.body.items.map((j: Job) => j.id)).not.toContain(row!.id);
      expect(snapshotHolds(during.body.page.snapshot, { seq: Number.MAX_SAFE_INTEGER, txid: row!.txid })).toBe(false);
      expect(after.body.page.total).toBe(before.body.page.total + 1);
      expect(after.body.items[0].id).toBe(row!.id);
      expect(snapshotHolds(after.body.page.snapshot, { seq: Number.MAX_SAFE_INTEGER, txid: row!.txid })).toBe(true);
    } finally {
      writer.release();
    }
  });

  test('lists read while rows are committed: each answer\'s items and total are exactly the rows its snapshot holds', async () => {
    const live = (await fx.call('POST', '/api/projects', { name: 'Busy' }, owner)).body.id as string;
    await fx.sql(`INSERT INTO extraction_jobs (project_id, document_name, created_at) SELECT $1, 'base-' || g, now() - g * interval '1 hour' FROM generate_series(1, 20) g`, [live]);
    const written: { id: string; txid: string }[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 60; i++) {
        const [row] = await fx.sql<{ id: string; txid: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id, pg_current_xact_id()::text AS txid`, [live, `w-${i}`]);
        written.push(row!);
      }
      writing = false;
    })();
    const answers: { items: Job[]; page: { total: number; snapshot: PageSnapshot } }[] = [];
    const reader = async () => {
      while (writing) answers.push((await fx.call('GET', `/api/extraction-jobs?projectId=${live}&limit=5`, undefined, owner)).body);
    };
    await Promise.all([writer, reader(), reader()]);
    const all = await fx.sql<{ id: string }>(`SELECT id FROM extraction_jobs WHERE project_id = $1 ORDER BY date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC`, [live]);
    const txidOf = new Map(written.map((w) => [w.id, w.txid]));
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) {
      const held = all.map((r) => r.id).filter((id) => !txidOf.has(id) || snapshotHolds(a.page.snapshot, { seq: Number.MAX_SAFE_INTEGER, txid: txidOf.get(id)! }));
      expect(a.page.total).toBe(held.length);
      expect(a.items.map((j) => j.id)).toEqual(held.slice(0, 5));
    }
  });
});

describe('every bad parameter is a 400 naming it and the fix, before the database', () => {
  const forged = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  test.each([
    ['offset=50', 'offset', /offset is no longer supported: page with after=<page.next>/],
    ['status=done', 'status', /must be one of queued, processing, completed, failed/],
    ['id=42', 'id', /must be a UUID/],
    ['projectId=42', 'projectId', /give projectId once/],
    ['progress=lots', 'progress', /whole number/],
    ['progress=99999999999', 'progress', /whole number/],
    ['createdAt=yesterday', 'createdAt', /time as the API prints it/],
    ['colour=red', 'colour', /not a parameter of extraction-jobs lists; use limit, orderBy, after, id, projectId/],
    ['orderBy=documentName', 'orderBy', /cannot be paged by documentName .* use one of -id, id, -createdAt, createdAt/],
    ['orderBy=-colour', 'orderBy', /no field "colour"/],
    ['limit=501', 'limit', /1 to 500/],
    ['after=%21%21', 'after', /not a page.next of this list; pass page.next of the previous page as it came/],
    [`after=${forged({ o: '-createdAt', v: "2026-01-01'; DROP TABLE x; --", k: '00000000-0000-0000-0000-000000000000' })}`, 'after', /its position is not a createdAt and a id/],
    [`after=${forged({ o: 'id', v: '00000000-0000-0000-0000-000000000000', k: '00000000-0000-0000-0000-000000000000' })}`, 'after', /ordered by id, not -createdAt: send orderBy=id/],
  ])('?%s', async (query, param, message) => {
    const res = await fx.call('GET', `/api/extraction-jobs?projectId=${project}&${query}`, undefined, owner);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^invalid query: /);
    expect(res.body.error.message).toMatch(message);
    expect(Object.keys(res.body.error.fields)).toEqual([param]);
  });

  test('a json column is no filter', async () => {
    const res = await fx.call('GET', `/api/data-layers?metadata=x`, undefined, owner);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/metadata: cannot be filtered by .* filter by id, projectId, name/);
  });
});

/** A plan's nodes, depth first. */
function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  return [plan, ...((plan.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(nodes)];
}

describe('plans', () => {
  const dialect = new PgDialect();
  let specs: Map<string, ListSpec>;
  beforeAll(async () => {
    specs = new Map((await loadResources(fx.pool)).map((r) => [r.path, listSpecOf(r.path, r.table, r.keyField, r.projectField)]));
  });

  /** EXPLAIN of the page the route would read, as the user under row-level security, read only. */
  async function explain(path: string, query: Record<string, string>, settings: string[] = []): Promise<Record<string, unknown>> {
    const spec = specs.get(path)!;
    const q = dialect.sqlToQuery(pageSql(spec, parseListQuery(spec, query), sql`to_jsonb(${sql.identifier(spec.table)})`));
    const c = await fx.pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const s of settings) await c.query(s);
      await c.query('SET LOCAL ROLE realtime_api');
      await c.query(`SELECT set_config('app.user_id', $1, true), set_config('app.actor', $2, true)`, [owner.id, owner.email]);
      const { rows } = await c.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${q.sql}`, q.params);
      return (rows[0]['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan;
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  }

  test('with 100,000 jobs a page, the next one and one 90,000 rows deep start at their position in the index: no sort, no rows filtered, a few buffers', async () => {
    const big = (await fx.call('POST', '/api/projects', { name: 'Big' }, owner)).body.id as string;
    await fx.sql(`INSERT INTO extraction_jobs (project_id, document_name, status, created_at)
      SELECT $1, 'doc-' || g || '.pdf', (ARRAY['queued', 'failed', 'completed'])[1 + g % 3], '2026-01-01'::timestamptz + (g / 3) * interval '1 millisecond' + (g % 3) * interval '1 microsecond'
      FROM generate_series(1, 100000) g`, [big]);
    await fx.sql('ANALYZE extraction_jobs');
    const first = await fx.call('GET', `/api/extraction-jobs?projectId=${big}`, undefined, owner);
    expect(first.body.page.total).toBe(100_000);
    const [deep] = await fx.sql<{ sort: string; key: string }>(
      `SELECT to_char(date_trunc('milliseconds', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI:SS.MS') AS sort, id::text AS key FROM extraction_jobs WHERE project_id = $1
       ORDER BY date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC OFFSET 89999 LIMIT 1`,
      [big],
    );
    const spec = specs.get('extraction-jobs')!;
    const deepAfter = encodeAfter({ by: 'createdAt', desc: true, key: 'id' }, spec, { value: deep!.sort, key: deep!.key });
    for (const after of [null, first.body.page.next as string, deepAfter]) {
      const plan = await explain('extraction-jobs', { projectId: big, ...(after ? { after } : {}) });
      const all = nodes(plan);
      expect(all.map((n) => n['Node Type'])).not.toContain('Sort');
      const scan = all.find((n) => n['Index Name'] === 'extraction_jobs_list_created_idx');
      expect(scan, JSON.stringify(plan)).toBeDefined();
      if (after) expect(String(scan!['Index Cond'])).toMatch(/realtime_list_time\(created_at\), id\) </);
      expect(scan!['Rows Removed by Filter'] ?? 0).toBe(0);
      expect(Number(plan['Shared Hit Blocks']) + Number(plan['Shared Read Blocks'])).toBeLessThan(100);
      expect(plan['Actual Rows']).toBe(51);
    }
    const deepPage = await fx.call('GET', `/api/extraction-jobs?projectId=${big}&after=${deepAfter}`, undefined, owner);
    expect(deepPage.body.items.length).toBe(50);
    expect(deepPage.body.page.total).toBe(100_000);
  }, 300_000);

  test('every order each resource allows has an index that serves it, both ways, from the start and from a position', async () => {
    const positions: Record<string, string> = {};
    for (const [path, spec] of specs) {
      const filter: Record<string, string> = spec.columns.get('projectId') && path !== 'projects' ? { projectId: project } : {};
      for (const by of spec.orderable)
        for (const desc of [true, false]) {
          const order = { by, desc, key: spec.key.field };
          const value = spec.columns.get(by)!.kind === 'timestamp' ? '2026-01-01 00:00:00.123' : '00000000-0000-0000-0000-000000000000';
          positions[path] = encodeAfter(order, spec, { value, key: '00000000-0000-0000-0000-000000000000' });
          for (const after of [null, positions[path]!]) {
            // Whatever the table's size: no sequential scan and no sort unless nothing else can answer.
            const plan = await explain(path, { ...filter, orderBy: `${desc ? '-' : ''}${by}`, ...(after ? { after } : {}) }, ['SET LOCAL enable_seqscan = off', 'SET LOCAL enable_sort = off', 'SET LOCAL enable_bitmapscan = off']);
            const types = nodes(plan).map((n) => n['Node Type']);
            expect(types, `${path} ${by} ${desc}`).not.toContain('Sort');
            expect(types, `${path} ${by} ${desc}`).not.toContain('Seq Scan');
          }
        }
    }
    expect(Object.keys(positions).sort()).toEqual(['data-layers', 'extraction-jobs', 'extraction-results', 'projects', 'supplier-matches']);
  });
});

describe('a table declared later, with createdAt and no index for it', () => {
  const notes = pgTable('test_list_notes', {
    id: uuid().primaryKey().defaultRandom(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    rank: integer().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  });
  const MIGRATION = `
CREATE TABLE "test_list_notes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL REFERENCES "public"."projects"("id") ON DELETE cascade,
	"rank" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
SELECT realtime_enable('test_list_notes', 'id', 'project_id');
`;
  const lines: { level: number; msg: string; tables?: string[] }[] = [];
  let api: ApiFixture;
  beforeAll(async () => {
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    api = await startApi({ migration: MIGRATION, tables: [notes], log });
  });
  afterAll(async () => {
    await api?.close();
  });

  test('keeps newest first, pages it, and is named at start with the index to add', async () => {
    const warning = lines.find((l) => l.msg.includes('no index serves their default order'));
    expect(warning?.tables).toEqual(['test_list_notes']);
    expect(warning?.msg).toContain("add index('<table>_list_created_idx').on(t.projectId, listTime(t.createdAt), t.id)");
    const me = await api.user('notes@example.com');
    const p = (await api.call('POST', '/api/projects', { name: 'Notes' }, me)).body.id;
    await api.sql(`INSERT INTO test_list_notes (project_id, rank, created_at) SELECT $1, g, '2026-01-01T00:00:00.001Z'::timestamptz + (g % 4) * interval '1 microsecond' FROM generate_series(1, 9) g`, [p]);
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const res = await api.call('GET', `/api/test-list-notes?projectId=${p}&limit=4${after ? `&after=${after}` : ''}`, undefined, me);
      expect(res.body.page).toMatchObject({ total: 9, order: { by: 'createdAt', desc: true, key: 'id' } });
      ids.push(...res.body.items.map((n: { id: string }) => n.id));
      after = res.body.page.next;
    } while (after);
    const want = await api.sql<{ id: string }>(`SELECT id FROM test_list_notes ORDER BY date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC`);
    expect(ids).toEqual(want.map((r) => r.id));
    const rank = await api.call('GET', `/api/test-list-notes?projectId=${p}&orderBy=rank`, undefined, me);
    expect(rank.status).toBe(400);
    expect(rank.body.error.message).toMatch(/cannot be paged by rank \(no index serves that order\); use one of -id, id, -createdAt, createdAt/);
  });
});
