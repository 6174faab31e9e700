// Writes on a bad network, in a real browser: made offline, they show at once marked
// pending, survive a closed tab (IndexedDB, and the service worker serves the app
// offline), and are applied exactly once when the network returns, confirmed by the
// stream; with the server down they are retried until it is back; and an edit made
// offline against a row someone else changed meanwhile comes back as a conflict for the
// user to decide, never as a silent overwrite.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { addUser, Session, signedInPage, startStack, type Stack, type User } from './stack';
import { graveViolations } from './axe';

let stack: Stack;
let ann: User;
let bob: User;
let annApi: Session;

beforeAll(async () => {
  stack = await startStack();
  [ann, bob] = [await addUser(stack, 'Writer'), await addUser(stack, 'Rival')];
  annApi = await Session.signIn(stack.base, ann);
});

afterAll(async () => {
  await stack?.stop();
});

const live = (page: Page) => page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 20_000 });
const card = (page: Page, id: string) => page.locator(`[data-testid=project][data-id="${id}"]`);
const waiting = (page: Page) => page.locator('[data-testid=writes]').getAttribute('data-waiting', { timeout: 1000 }).catch(() => null);

/** The page's service worker controls it: the app opens offline from now on. */
const offlineReady = (page: Page) =>
  page.waitForFunction(() => navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined, undefined, { timeout: 15_000 });

/**
 * The live lists are on disk: the persister writes at most once a second, so a tab closed
 * sooner after its list arrived would reopen without it. Read without opening a database
 * idb-keyval has not made yet (an open would make it without its store).
 */
async function persisted(page: Page, ...ids: string[]): Promise<void> {
  const onDisk = (wanted: string[]) =>
    page.evaluate(async (wanted) => {
      if (!(await indexedDB.databases()).some((d) => d.name === 'keyval-store')) return false;
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('keyval-store');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      try {
        const values = await new Promise<unknown[]>((resolve, reject) => {
          const all = db.transaction('keyval').objectStore('keyval').getAll();
          all.onsuccess = () => resolve(all.result);
          all.onerror = () => reject(all.error);
        });
        return values.some((v) => typeof v === 'string' && v.includes('"realtimeLive":true') && wanted.every((id) => v.includes(id)));
      } finally {
        db.close();
      }
    }, wanted);
  await expect.poll(() => onDisk(ids), { timeout: 10_000 }).toBe(true);
}

async function projectsNamed(name: string): Promise<{ id: string; name: string; version: number }[]> {
  return (await stack.pool.query(`SELECT id, name, version FROM projects WHERE name = $1`, [name])).rows;
}

test('offline: a create and a rename survive a closed tab, and are applied once when the network returns', async () => {
  const target = await annApi.post('projects', { name: 'To be renamed' });
  let page = await signedInPage(stack, ann);
  const context = page.context();
  await live(page);
  await card(page, target.id).waitFor();
  await offlineReady(page);
  await persisted(page, target.id);

  await context.setOffline(true);
  await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 10_000 });
  await page.fill('input[aria-label="New project name"]', 'Made offline');
  await page.click('form[aria-label="New project"] button[type=submit]');
  const made = page.locator('[data-testid=project]', { hasText: 'Made offline' });
  await made.waitFor({ timeout: 2000 });
  expect(await made.getAttribute('data-pending')).toMatch(/queued|sending/);

  await page.evaluate((id) => (window.location.hash = `#/projects/${id}`), target.id);
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.fill('input[aria-label="Project name"]', 'Renamed offline');
  await page.press('input[aria-label="Project name"]', 'Enter');
  await page.waitForSelector('[data-testid=project-name] [data-testid=pending]', { timeout: 2000 });
  expect(await waiting(page)).toBe('2');

  // The tab closes with both writes unsent; the browser (its storage) stays.
  await page.close();
  page = await context.newPage();
  await page.goto(`${stack.base}/#/`);
  await page.waitForSelector('[data-testid=user]', { timeout: 15_000 });
  expect(await page.getAttribute('[data-testid=connection]', 'data-status')).not.toBe('live');
  const reopened = page.locator('[data-testid=project]', { hasText: 'Made offline' });
  await reopened.waitFor({ timeout: 5000 });
  expect(await reopened.getAttribute('data-pending')).toMatch(/queued|sending/);
  const renamed = card(page, target.id);
  expect(await renamed.locator('strong').textContent()).toBe('Renamed offline');
  expect(await renamed.getAttribute('data-pending')).toMatch(/queued|sending/);
  expect(await waiting(page)).toBe('2');
  expect(await projectsNamed('Made offline')).toEqual([]);

  await context.setOffline(false);
  await live(page);
  // Confirmed by the stream: no write waits, no row is marked.
  await page.waitForSelector('[data-testid=writes]', { state: 'detached', timeout: 20_000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=project][data-pending]').length === 0, undefined, { timeout: 5000 });
  const created = await projectsNamed('Made offline');
  expect(created).toHaveLength(1);
  expect((await stack.pool.query(`SELECT name, version FROM projects WHERE id = $1`, [target.id])).rows[0]).toEqual({ name: 'Renamed offline', version: 2 });
  // Exactly once: one INSERT in the outbox for the new project, one UPDATE for the rename.
  const changes = await stack.pool.query(`SELECT op FROM change_outbox WHERE table_name = 'projects' AND row_id IN ($1, $2) ORDER BY id`, [created[0]!.id, target.id]);
  expect(changes.rows.map((r) => r.op)).toEqual(['INSERT', 'INSERT', 'UPDATE']);
  expect(await card(page, created[0]!.id).count()).toBe(1);
  await context.close();
});

test('the server down while the browser is online: the create is retried, and applied once, when the server returns', async () => {
  const page = await signedInPage(stack, ann);
  await live(page);
  await stack.stopServer();
  try {
    await page.fill('input[aria-label="New project name"]', 'Made while the server was down');
    await page.click('form[aria-label="New project"] button[type=submit]');
    await page.locator('[data-testid=project]', { hasText: 'Made while the server was down' }).waitFor({ timeout: 2000 });
    // Tried and failed at least once, still waiting (not dropped, not refused).
    await page.evaluate(() => (window.location.hash = '#/writes'));
    await page.waitForSelector('[data-testid=write][data-state=queued]', { timeout: 10_000 });
    await page.waitForFunction(() => /tried \d+ time/.test(document.querySelector('[data-testid=write]')?.textContent ?? ''), undefined, { timeout: 10_000 });
    expect(await projectsNamed('Made while the server was down')).toEqual([]);
  } finally {
    await stack.startServer();
  }
  await page.waitForSelector('[data-testid=write]', { state: 'detached', timeout: 40_000 });
  expect(await projectsNamed('Made while the server was down')).toHaveLength(1);
  await page.context().close();
});

test('two users edit one project, one of them offline: the offline edit comes back as a conflict, and nothing is overwritten silently', async () => {
  const shared = await annApi.post('projects', { name: 'Shared plan' });
  await annApi.invite(shared.id, bob.email, 'owner');
  await (await Session.signIn(stack.base, bob)).accept(shared.id);
  // bypassCSP: the accessibility audit below comes in as an inline script.
  const page = await signedInPage(stack, bob, { bypassCSP: true });
  await live(page);
  await page.evaluate((id) => (window.location.hash = `#/projects/${id}`), shared.id);
  await page.waitForSelector('[data-testid=project-name]');

  await page.context().setOffline(true);
  await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 10_000 });
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.fill('input[aria-label="Project name"]', 'Bob was here');
  await page.press('input[aria-label="Project name"]', 'Enter');
  // Meanwhile the other user, online, renames it too.
  await annApi.request('PATCH', `projects/${shared.id}`, { name: 'Ann decided' });

  await page.context().setOffline(false);
  await page.waitForSelector('[data-testid=project-name] [data-testid=pending][data-state=conflict]', { timeout: 20_000 });
  // The server kept the other user's name; the page shows it, with the conflict marked.
  const row = async () => (await stack.pool.query(`SELECT name, version FROM projects WHERE id = $1`, [shared.id])).rows[0];
  expect(await row()).toEqual({ name: 'Ann decided', version: 2 });
  await page.waitForFunction(() => document.querySelector('[data-testid=project-name]')?.textContent?.startsWith('Ann decided'), undefined, { timeout: 5000 });
  expect(await page.textContent('[data-testid=write-alerts]')).toMatch(/someone else changed it/);
  expect(await graveViolations(page, 'a project with a conflict')).toEqual([]);

  // The choice: the writes page shows both values; keep mine applies it on top of theirs.
  await page.evaluate(() => (window.location.hash = '#/writes'));
  const conflict = page.locator('[data-testid=write][data-state=conflict]');
  await conflict.waitFor();
  expect(await conflict.locator('[data-testid=conflict]').textContent()).toMatch(/Bob was here.*Ann decided/);
  expect(await graveViolations(page, 'the writes page with a conflict')).toEqual([]);
  await conflict.getByRole('button', { name: 'Keep mine' }).click();
  await page.waitForSelector('[data-testid=write]', { state: 'detached', timeout: 20_000 });
  expect(await row()).toEqual({ name: 'Bob was here', version: 3 });
  // Both edits are in the history, in order: the later one made knowing the earlier.
  const names = await stack.pool.query(`SELECT new_row->>'name' AS name FROM change_outbox WHERE table_name = 'projects' AND row_id = $1 AND op = 'UPDATE' ORDER BY id`, [shared.id]);
  expect(names.rows.map((r) => r.name)).toEqual(['Ann decided', 'Bob was here']);
  await page.context().close();
});

test('two tabs write offline and both close: the next tab opened finds both writes, and applies each once', async () => {
  const first = await signedInPage(stack, ann);
  const context = first.context();
  await live(first);
  await offlineReady(first);
  const second = await context.newPage();
  await second.goto(`${stack.base}/#/`);
  await live(second);
  await persisted(second);

  await context.setOffline(true);
  for (const [page, name] of [[first, 'Written in tab one'], [second, 'Written in tab two']] as const) {
    await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 10_000 });
    await page.fill('input[aria-label="New project name"]', name);
    await page.click('form[aria-label="New project"] button[type=submit]');
    await page.locator('[data-testid=project]', { hasText: name }).waitFor({ timeout: 2000 });
  }
  // Each tab saved its own queue: neither save overwrote the other's.
  await first.close();
  await second.close();

  const third = await context.newPage();
  await third.goto(`${stack.base}/#/`);
  for (const name of ['Written in tab one', 'Written in tab two']) await third.locator('[data-testid=project][data-pending]', { hasText: name }).waitFor({ timeout: 5000 });
  expect(await waiting(third)).toBe('2');
  await context.setOffline(false);
  await third.waitForSelector('[data-testid=writes]', { state: 'detached', timeout: 20_000 });
  expect(await projectsNamed('Written in tab one')).toHaveLength(1);
  expect(await projectsNamed('Written in tab two')).toHaveLength(1);
  await context.close();
});
