// The members list of a big project: pages by position in email order, every member
// reachable exactly once, the total true and read with the page, a member who joins
// between two pages neither repeated nor skipping anyone, and nothing of the list shown
// to someone outside the project.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { encodeMemberAfter } from '../src/members-page';
import { startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let owner: TestUser;
let outsider: TestUser;
let project: string;
let other: string;
const MEMBERS = 1200;

beforeAll(async () => {
  fx = await startApi();
  owner = await fx.user('pages-owner@example.com');
  outsider = await fx.user('pages-outsider@example.com');
  project = (await fx.call('POST', '/api/projects', { name: 'Crowded' }, owner)).body.id;
  other = (await fx.call('POST', '/api/projects', { name: 'Elsewhere' }, outsider)).body.id;
  // Written as the table owner: 1,200 people, and one of them also in the outsider's project.
  await fx.sql(`INSERT INTO users (email, name) SELECT 'm' || lpad(g::text, 5, '0') || '@example.com', 'Member ' || g FROM generate_series(1, $1::int) g`, [MEMBERS]);
  await fx.sql(`INSERT INTO project_members (project_id, user_id, role) SELECT $1, id, 'viewer' FROM users WHERE email LIKE 'm%@example.com'`, [project]);
  await fx.sql(`INSERT INTO project_members (project_id, user_id, role) SELECT $1, id, 'viewer' FROM users WHERE email = 'm00001@example.com'`, [other]);
});
afterAll(async () => {
  await fx?.close();
});

async function readAll(limit: number): Promise<{ emails: string[]; totals: number[]; pages: number }> {
  const emails: string[] = [];
  const totals: number[] = [];
  let after: string | null | undefined;
  let pages = 0;
  while (after !== null) {
    const res = await fx.call('GET', `/api/projects/${project}/members?limit=${limit}${after ? `&after=${after}` : ''}`, undefined, owner);
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    emails.push(...res.body.items.map((m: { email: string }) => m.email));
    totals.push(res.body.page.total);
    after = res.body.page.next;
    expect(++pages).toBeLessThan(1000);
  }
  return { emails, totals, pages };
}

test.each([500, 7])('limit=%i: every member once, in email order, with the true total on each page', async (limit) => {
  const { emails, totals, pages } = await readAll(limit);
  const expected = (await fx.sql<{ email: string }>(`SELECT u.email FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.email`, [project])).map((r) => r.email);
  expect(expected).toHaveLength(MEMBERS + 1);
  expect(emails).toEqual(expected);
  expect(new Set(totals)).toEqual(new Set([MEMBERS + 1]));
  expect(pages).toBe(Math.ceil((MEMBERS + 1) / limit));
});

test('the default page is 100, and the shape is { items, page: { limit, next, total } }', async () => {
  const res = await fx.call('GET', `/api/projects/${project}/members`, undefined, owner);
  expect(res.body.items).toHaveLength(100);
  expect(res.body.page).toEqual({ limit: 100, next: encodeMemberAfter(res.body.items[99].email), total: MEMBERS + 1 });
  expect(Object.keys(res.body.items[0]).sort()).toEqual(['createdAt', 'email', 'id', 'name', 'projectId', 'role', 'updatedAt', 'userId']);
});

test('a member who joins between two pages: the next page neither repeats nor skips anyone, and the total counts them', async () => {
  const first = await fx.call('GET', `/api/projects/${project}/members?limit=10`, undefined, owner);
  // One who sorts before the position (already passed) and one after it (still to come).
  await fx.sql(`INSERT INTO users (email) VALUES ('a-early@example.com'), ('zz-late@example.com')`);
  await fx.sql(`INSERT INTO project_members (project_id, user_id, role) SELECT $1, id, 'editor' FROM users WHERE email IN ('a-early@example.com', 'zz-late@example.com')`, [project]);
  const second = await fx.call('GET', `/api/projects/${project}/members?limit=10&after=${first.body.page.next}`, undefined, owner);
  const firstEmails = first.body.items.map((m: { email: string }) => m.email);
  const secondEmails = second.body.items.map((m: { email: string }) => m.email);
  expect(secondEmails[0] > firstEmails.at(-1)).toBe(true);
  expect(secondEmails).not.toContain('a-early@example.com');
  expect(second.body.page.total).toBe(first.body.page.total + 2);
  const { emails } = await readAll(500);
  expect(emails.at(-1)).toBe('zz-late@example.com');
  expect(emails[0]).toBe('a-early@example.com');
});

test('someone outside the project gets 404 and learns no member; their own project lists only its own', async () => {
  const res = await fx.call('GET', `/api/projects/${project}/members?limit=500`, undefined, outsider);
  expect(res.status).toBe(404);
  expect(JSON.stringify(res.body)).not.toContain('@example.com');
  const own = await fx.call('GET', `/api/projects/${other}/members`, undefined, outsider);
  expect(own.body.items.map((m: { email: string }) => m.email)).toEqual(['m00001@example.com', 'pages-outsider@example.com']);
  expect(own.body.page).toMatchObject({ next: null, total: 2 });
});

test.each([
  ['limit=0', /limit/],
  ['limit=501', /limit/],
  ['offset=100', /offset is no longer supported: page with after=<page\.next>/],
  ['after=not%20a%20position', /after: not a page\.next of this list/],
  [`after=${encodeMemberAfter('NOT-AN-EMAIL')}`, /after: not a page\.next of this list/],
  ['role=owner', /role/],
])('?%s is a 400 naming what is wrong', async (query, message) => {
  const res = await fx.call('GET', `/api/projects/${project}/members?${query}`, undefined, owner);
  expect(res.status).toBe(400);
  expect(res.body.error.message).toMatch(message);
});
