// A project of 20,000 jobs in a real browser: the true total at once, every row
// reachable by scrolling (the oldest job last), a SQL update deep in the list shown in
// place while the list's length stays the same, and a status filter with its own total.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { addUser, openProject, Session, startStack, type Stack, type User } from './stack';
import { toEnd, totalOf } from './window';

const JOBS = 20_000;
let stack: Stack;
let user: User;
let session: Session;

beforeAll(async () => {
  stack = await startStack();
  user = await addUser(stack, 'Big');
  session = await Session.signIn(stack.base, user);
});

afterAll(async () => {
  await stack?.stop();
});

// The order the app shows: newest first, to the millisecond as the API prints it, then by id.
const ORDER = `date_trunc('milliseconds', created_at AT TIME ZONE 'UTC') DESC, id DESC`;

test('20,000 jobs: the total, the oldest job by scrolling, a deep update in place, a status filter', async () => {
  const project = await session.post('projects', { name: 'Twenty thousand' });
  // One statement, as an import would write them: ties in created_at every five rows.
  await stack.pool.query(
    `INSERT INTO extraction_jobs (project_id, document_name, status, progress, created_at)
     SELECT $1, 'doc-' || g || '.pdf', (ARRAY['queued','processing','completed','failed'])[1 + g % 4], g % 101,
            timestamptz '2026-06-01T00:00:00Z' + (g / 5) * interval '1 second'
       FROM generate_series(1, $2) g`,
    [project.id, JOBS],
  );
  const page = await openProject(stack, user, project.id);
  await page.waitForFunction(() => document.querySelector('section:has([data-testid=jobs]) [data-testid=total]')?.getAttribute('data-count') === '20000', undefined, { timeout: 30_000 });
  expect(await page.textContent('section:has([data-testid=jobs]) [data-testid=total]')).toBe('20,000');
  // Only the rows in view are in the page.
  expect(await page.locator('[data-testid=job]').count()).toBeLessThan(200);

  await toEnd(page, 'jobs');
  const oldest = (await stack.pool.query<{ id: string }>(`SELECT id FROM extraction_jobs WHERE project_id = $1 ORDER BY ${ORDER.replace(/DESC/g, 'ASC')} LIMIT 1`, [project.id])).rows[0]!.id;
  const last = page.locator('[data-testid=jobs] tbody tr[data-id]').last();
  expect(await last.getAttribute('data-id')).toBe(oldest);
  expect(await last.getAttribute('aria-rowindex')).toBe(String(JOBS + 1));

  // A job deep in the list (near the oldest, in view) changed by SQL: same place, same length.
  const { id: deep, rank } = (
    await stack.pool.query<{ id: string; rank: string }>(`SELECT id, rank FROM (SELECT id, row_number() OVER (ORDER BY ${ORDER}) AS rank FROM extraction_jobs WHERE project_id = $1) r WHERE rank = $2`, [project.id, JOBS - 3])
  ).rows[0]!;
  await stack.pool.query(`UPDATE extraction_jobs SET document_name = 'renamed-deep.pdf', progress = 42 WHERE id = $1`, [deep]);
  const row = page.locator(`[data-testid=job][data-id="${deep}"]`);
  await page.locator(`[data-testid=job][data-id="${deep}"]`, { hasText: 'renamed-deep.pdf' }).waitFor({ timeout: 10_000 });
  expect(await row.getAttribute('aria-rowindex')).toBe(String(Number(rank) + 1));
  expect(await page.getAttribute('[data-testid=jobs]', 'aria-rowcount')).toBe(String(JOBS + 1));
  expect(await totalOf(page, 'jobs')).toBe(JOBS);

  // The failed ones only: their own total, and only them.
  const failed = Number((await stack.pool.query<{ n: string }>(`SELECT count(*) AS n FROM extraction_jobs WHERE project_id = $1 AND status = 'failed'`, [project.id])).rows[0]!.n);
  await page.selectOption('[data-testid=job-status-filter]', 'failed');
  await page.waitForFunction((n) => document.querySelector('section:has([data-testid=jobs]) [data-testid=total]')?.getAttribute('data-count') === String(n), failed, { timeout: 10_000 });
  const statuses = await page.$$eval('[data-testid=job]', (rows) => rows.map((r) => r.getAttribute('data-status')));
  expect(statuses.length).toBeGreaterThan(0);
  expect(new Set(statuses)).toEqual(new Set(['failed']));
  await page.context().close();
}, 240_000);
