// /api/outbox pages are capped in bytes (OUTBOX_PAGE_BYTES, summed over row_bytes) as
// well as in rows: large changes make shorter pages, a change larger than the budget is
// a page of its own, and paging by `page.next` (a keyset position, `before`) returns every
// change exactly once, even while new changes arrive.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadApiToolEnv } from '../src/env';
import { startApi, type ApiFixture, type TestUser } from './fixture';
import { HISTORY_LATEST } from '../src/outbox/routes';
import { OUTBOX_COUNT_CAP } from '../src/outbox/parse';

const CAP = loadApiToolEnv({}).OUTBOX_PAGE_BYTES;
let fx: ApiFixture;
let operator: TestUser;

beforeAll(async () => {
  fx = await startApi();
  operator = await fx.user('ops@example.com', { operator: true });
  // Written as the table owner, past the API's text limits: small, 300 KB and one larger
  // than the whole budget, interleaved.
  const names: string[] = [];
  for (let i = 0; i < 5; i++) names.push(`small ${i}`);
  for (let i = 0; i < 8; i++) names.push(`${i}`.padEnd(300_000, 'x'));
  for (let i = 0; i < 5; i++) names.push(`small ${5 + i}`);
  names.push('y'.repeat(CAP + 100_000));
  for (let i = 0; i < 3; i++) names.push(`${8 + i}`.padEnd(300_000, 'x'));
  for (const name of names) await fx.sql(`INSERT INTO projects (name) VALUES ($1)`, [name]);
});
afterAll(async () => {
  await fx?.close();
});

async function sizes(): Promise<Map<string, number>> {
  const rows = await fx.sql<{ id: string; row_bytes: number }>(`SELECT id::text, row_bytes FROM change_outbox c WHERE table_name = 'projects' ORDER BY c.id DESC`);
  return new Map(rows.map((r) => [r.id, r.row_bytes]));
}

test('the row sizes are what the test means them to be', async () => {
  const s = [...(await sizes()).values()];
  expect(s).toHaveLength(22);
  expect(s.filter((b) => b > 300_000 && b < 310_000)).toHaveLength(11);
  expect(s.filter((b) => b > CAP)).toHaveLength(1);
});

test('a page of large changes holds fewer than asked, within the budget, and says where the next starts', async () => {
  const bytes = await sizes();
  const all = [...bytes.keys()];
  // Newest first: three 300 KB changes (900 KB) fit in 1 MB, a fourth would not.
  const res = await fx.call('GET', '/api/outbox?table=projects&limit=10', undefined, operator);
  expect(res.status).toBe(200);
  const ids = res.body.items.map((r: { id: number }) => String(r.id));
  expect(ids).toEqual(all.slice(0, 3));
  expect(res.body.page).toEqual({ limit: 10, next: Number(all[2]), total: 22, totalCapped: false });
  const total = ids.reduce((n: number, id: string) => n + bytes.get(id)!, 0);
  expect(total).toBeLessThanOrEqual(CAP);
  expect(total + bytes.get(all[3]!)!).toBeGreaterThan(CAP);
  // Rows come as before: no bookkeeping columns.
  expect(Object.keys(res.body.items[0]).sort()).toEqual(['actor', 'application_name', 'committed_at', 'created_at', 'db_user', 'id', 'new_row', 'old_row', 'op', 'row_id', 'seq', 'table_name', 'txid']);
  // The change larger than the budget is a page of its own: paging makes progress.
  const big = all.findIndex((id) => bytes.get(id)! > CAP);
  const alone = await fx.call('GET', `/api/outbox?table=projects&limit=10&before=${all[big - 1]}`, undefined, operator);
  expect(alone.body.items.map((r: { id: number }) => String(r.id))).toEqual([all[big]]);
  expect(alone.body.page.next).toBe(Number(all[big]));
});

test.each([1, 4, 10, 500])('paging by page.next with limit=%i returns every change once, in order, each page within the budget', async (limit) => {
  const bytes = await sizes();
  const seen: string[] = [];
  let before: number | null | undefined;
  let pages = 0;
  while (before !== null) {
    const res = await fx.call('GET', `/api/outbox?table=projects&limit=${limit}${before === undefined ? '' : `&before=${before}`}`, undefined, operator);
    expect(res.status).toBe(200);
    const ids = res.body.items.map((r: { id: number }) => String(r.id));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThanOrEqual(limit);
    const total = ids.reduce((n: number, id: string) => n + bytes.get(id)!, 0);
    if (ids.length > 1) expect(total).toBeLessThanOrEqual(CAP);
    seen.push(...ids);
    before = res.body.page.next;
    if (before !== null) expect(String(before)).toBe(seen.at(-1));
    expect(res.body.page.total).toBe(22);
    expect(++pages).toBeLessThan(100);
  }
  expect(seen).toEqual([...bytes.keys()]);
});

test('small rows: the row cap still holds, and the last page has no next', async () => {
  const all = [...(await sizes()).keys()];
  const res = await fx.call('GET', `/api/outbox?table=projects&limit=3&before=${all[18]}`, undefined, operator);
  expect(res.body.items).toHaveLength(3);
  expect(res.body.page.next).toBeNull();
  const over = await fx.call('GET', '/api/outbox?limit=501', undefined, operator);
  expect(over.status).toBe(400);
});

test('a row changed more often than one answer holds: its latest changes, oldest first, marked truncated', async () => {
  const id = (await fx.sql<{ id: string }>(`INSERT INTO projects (name) VALUES ('churned') RETURNING id::text`))[0]!.id;
  await fx.sql(`UPDATE projects SET description = g::text FROM generate_series(1, 1) g WHERE id = $1`, [id]);
  for (let i = 2; i <= HISTORY_LATEST + 10; i++) await fx.sql(`UPDATE projects SET description = $1 WHERE id = $2`, [String(i), id]);
  const res = await fx.call('GET', `/api/outbox/history/projects/${id}`, undefined, operator);
  expect(res.status).toBe(200);
  expect(res.body.truncated).toBe(true);
  expect(res.body.changes).toHaveLength(HISTORY_LATEST);
  const last = res.body.changes.at(-1).changes.find((c: { column: string }) => c.column === 'description');
  expect(last.to).toBe(String(HISTORY_LATEST + 10));
  const seqs = res.body.changes.map((c: { seq: number | null; createdAt: string }) => c.createdAt);
  expect([...seqs].sort()).toEqual(seqs);
  const short = await fx.call('GET', `/api/outbox/history/projects/00000000-0000-4000-8000-000000000000`, undefined, operator);
  expect(short.body).toMatchObject({ changes: [], truncated: false });
});

test.each([
  ['/api/outbox/history/Projects;drop/1', /table/],
  ['/api/outbox?offset=10', /offset is no longer supported: page with before=<page.next>/],
  ['/api/outbox?before=0', /before/],
  ['/api/outbox?before=abc', /before/],
  ['/api/projects?offset=100001', /offset/],
])('%s is refused, naming what is wrong', async (url, message) => {
  const res = await fx.call('GET', url, undefined, operator);
  expect(res.status).toBe(400);
  expect(res.body.error.message).toMatch(message);
});

test('a path parameter longer than 100 characters is refused before any route runs (414)', async () => {
  expect((await fx.call('GET', `/api/outbox/history/projects/${'x'.repeat(101)}`, undefined, operator)).status).toBe(414);
});

// These two write more changes: they come last, after the tests that count the ones above.
test('pages hold still while changes arrive: the next page neither repeats nor skips a change', async () => {
  const first = await fx.call('GET', '/api/outbox?op=INSERT&limit=5', undefined, operator);
  const total = first.body.page.total;
  // Newer changes land above the first page, as they do while an operator reads.
  expect(await fx.sql(`INSERT INTO projects (name) SELECT 'arrived ' || g FROM generate_series(1, 7) g RETURNING id`)).toHaveLength(7);
  const second = await fx.call('GET', `/api/outbox?op=INSERT&limit=5&before=${first.body.page.next}`, undefined, operator);
  const everything = (await fx.sql<{ id: string }>(`SELECT c.id::text FROM change_outbox c WHERE op = 'INSERT' ORDER BY c.id DESC`)).map((r) => r.id);
  const read = [...first.body.items, ...second.body.items].map((r: { id: number }) => String(r.id));
  // Pages may be short of 5 (the byte budget): what was read is contiguous all the same.
  expect(read.length).toBeGreaterThan(1);
  expect(read).toEqual(everything.slice(7, 7 + read.length));
  // The total is the set's as of each page's own read.
  expect(second.body.page.total).toBe(total + 7);
});

test('the total is exact up to its cap, then marked as capped', async () => {
  const res = await fx.call('GET', '/api/outbox?limit=1', undefined, operator);
  const n = Number((await fx.sql<{ n: string }>(`SELECT count(*) AS n FROM change_outbox`))[0]!.n);
  expect(res.body.page).toMatchObject({ total: n, totalCapped: false });
  // Over the cap: written as the table owner, a statement of 10,001 rows.
  await fx.sql(`INSERT INTO projects (name) SELECT 'bulk ' || g FROM generate_series(1, $1::int) g`, [OUTBOX_COUNT_CAP + 1]);
  const capped = await fx.call('GET', '/api/outbox?table=projects&op=INSERT&limit=1', undefined, operator);
  expect(capped.body.page).toMatchObject({ total: OUTBOX_COUNT_CAP, totalCapped: true });
});
