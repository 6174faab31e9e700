// The flaky-network promise in a real browser, signed in: two pages on one project follow
// writes made elsewhere within a second, and a page taken offline while 200 changes are
// written comes back to exactly the database's state, with no row twice on screen.
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { addUser, openProject as open, repoRoot, Session, startStack, type Stack, type User } from './stack';
import { rowsOf } from './window';

let stack: Stack;
let user: User;
let session: Session;

beforeAll(async () => {
  stack = await startStack();
  user = await addUser(stack, 'Live');
  session = await Session.signIn(stack.base, user);
});

afterAll(async () => {
  await stack?.stop();
});

// Writes over HTTP go as the signed-in user, who owns the projects they create.
const post = (resource: string, body: unknown) => session.post(resource, body);
const openProject = (id: string) => open(stack, user, id);

const jobIds = (page: Page) => page.$$eval('[data-testid=job]', (rows) => rows.map((r) => r.getAttribute('data-id')!));

test('two pages on one project follow a job created, advanced and deleted elsewhere, within a second', async () => {
  const project = await post('projects', { name: 'E2E live' });
  const [a, b] = [await openProject(project.id), await openProject(project.id)];

  // Created in page A's form...
  await a.fill('input[placeholder="document.pdf"]', 'from-page-a.pdf');
  await a.click('text=Add job');
  const row = b.locator('[data-testid=job]', { hasText: 'from-page-a.pdf' });
  await row.waitFor({ timeout: 1000 });

  // ...advanced through the API...
  const id = await row.getAttribute('data-id');
  await session.request('PATCH', `extraction-jobs/${id}`, { status: 'processing', progress: 60 });
  await a.locator(`[data-id="${id}"][data-status=processing] [aria-valuenow="60"]`).waitFor({ timeout: 1000 });
  await b.locator(`[data-id="${id}"][data-status=processing] [aria-valuenow="60"]`).waitFor({ timeout: 1000 });

  // ...and deleted in page B.
  await b.locator(`[data-id="${id}"] >> text=Delete`).click();
  await a.locator(`[data-id="${id}"]`).waitFor({ state: 'detached', timeout: 1000 });
  expect(await jobIds(a)).toEqual([]);
  await a.context().close();
  await b.context().close();
});

test('offline while 200 changes are written: back to exactly the database, no row twice', async () => {
  const project = await post('projects', { name: 'E2E offline' });
  const page = await openProject(project.id);
  const jobs: string[] = [];
  for (let i = 0; i < 10; i++) jobs.push((await post('extraction-jobs', { projectId: project.id, documentName: `before-${i}.pdf` })).id);
  await page.waitForFunction(() => document.querySelector('[data-testid=jobs]')?.getAttribute('aria-rowcount') === '11');

  await page.context().setOffline(true);
  // The browser drops the socket; the page says so.
  await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 10_000 });
  // 200 changes while the page cannot hear them: inserts, progress updates, deletes.
  for (let i = 0; i < 200; i++) {
    const r = i % 4;
    if (r === 0) jobs.push((await post('extraction-jobs', { projectId: project.id, documentName: `during-${i}.pdf` })).id);
    else if (r === 3 && jobs.length > 5) await stack.pool.query(`DELETE FROM extraction_jobs WHERE id = $1`, [jobs.splice(i % jobs.length, 1)[0]]);
    else await stack.pool.query(`UPDATE extraction_jobs SET progress = $1, status = 'processing' WHERE id = $2`, [i % 100, jobs[i % jobs.length]]);
  }
  await page.context().setOffline(false);

  const expected = async () => (await stack.pool.query(`SELECT id, progress FROM extraction_jobs WHERE project_id = $1 ORDER BY id`, [project.id])).rows as { id: string; progress: number }[];
  const want = await expected();
  // The table's count is the stream's total: it reaches the database's once caught up.
  await page.waitForFunction((n) => document.querySelector('[data-testid=jobs]')?.getAttribute('aria-rowcount') === String(n + 1), want.length, { timeout: 30_000 });
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 30_000 });
  // It came back by catching up, and says how much it caught up on.
  expect(await page.textContent('[data-testid=connection]')).toMatch(/caught up on \d+ change/);
  // Only the rows in view are rendered: every one is read by scrolling through the table.
  const shown = (await rowsOf(page, 'jobs')).map((r) => ({ id: r.id, progress: r.progress }));
  expect(new Set(shown.map((s) => s.id)).size).toBe(shown.length);
  expect([...shown].sort((x, y) => x.id.localeCompare(y.id))).toEqual(want);
  await page.screenshot({ path: path.join(repoRoot, 'web', '.reports', 'e2e-offline.png') }).catch(() => undefined);
  await page.context().close();
});
