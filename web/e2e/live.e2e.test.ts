// The flaky-network promise in a real browser: two pages on one project follow writes
// made elsewhere within a second, and a page taken offline while 200 changes are written
// comes back to exactly the database's state, with no row twice on screen.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let db: TestDatabase;
let pool: pg.Pool;
let server: ChildProcess;
let base = '';
let browser: Browser;
let out = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`);
  if (!existsSync(path.join(repoRoot, 'web', 'dist', 'index.html'))) throw new Error('the web app is not built: npm run test:e2e builds it first');
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  server = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: db.url, PORT: '0', DEMO: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; !/Open (http:\/\/localhost:\d+)/.test(out); i++) {
    if (i > 300) throw new Error(`the server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  base = /Open (http:\/\/localhost:\d+)/.exec(out)![1]!.replace('localhost', '127.0.0.1');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await new Promise((r) => server?.once('exit', r));
  await pool?.end();
  await db?.drop();
});

async function post(resource: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${base}/api/${resource}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-actor': 'e2e' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`POST ${resource}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

async function openProject(id: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/#/projects/${id}`);
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  return page;
}

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
  await fetch(`${base}/api/extraction-jobs/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'processing', progress: 60 }) });
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
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=job]').length === n, 10);

  await page.context().setOffline(true);
  // The browser drops the socket; the page says so and falls back to polling.
  await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 10_000 });
  // 200 changes while the page cannot hear them: inserts, progress updates, deletes.
  for (let i = 0; i < 200; i++) {
    const r = i % 4;
    if (r === 0) jobs.push((await post('extraction-jobs', { projectId: project.id, documentName: `during-${i}.pdf` })).id);
    else if (r === 3 && jobs.length > 5) await pool.query(`DELETE FROM extraction_jobs WHERE id = $1`, [jobs.splice(i % jobs.length, 1)[0]]);
    else await pool.query(`UPDATE extraction_jobs SET progress = $1, status = 'processing' WHERE id = $2`, [i % 100, jobs[i % jobs.length]]);
  }
  await page.context().setOffline(false);

  const expected = async () => (await pool.query(`SELECT id, progress FROM extraction_jobs WHERE project_id = $1 ORDER BY id`, [project.id])).rows as { id: string; progress: number }[];
  const want = await expected();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=job]').length === n, want.length, { timeout: 30_000 });
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 30_000 });
  // It came back by catching up, and says how much it caught up on.
  expect(await page.textContent('[data-testid=connection]')).toMatch(/caught up on \d+ change/);
  const shown = await page.$$eval('[data-testid=job]', (rows) =>
    rows.map((r) => ({ id: r.getAttribute('data-id')!, progress: Number(r.querySelector('[role=progressbar]')!.getAttribute('aria-valuenow')) })),
  );
  expect(new Set(shown.map((s) => s.id)).size).toBe(shown.length);
  expect([...shown].sort((x, y) => x.id.localeCompare(y.id))).toEqual(want);
  await page.screenshot({ path: path.join(repoRoot, 'web', '.reports', 'e2e-offline.png') }).catch(() => undefined);
  await page.context().close();
});
