// Resume after a reload, in a real browser: the live lists are persisted in IndexedDB
// with their stream position, so a reload with every list request of the API failing
// still shows the projects at once, and a project created after the reload arrives by
// the subscription's resume (no list request went through). Sign-out deletes the
// persisted lists, and another user signing in on the same browser sees none of them.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page, Route } from 'playwright-core';
import { addUser, projectIds, Session, signedInPage, startStack, type Stack, type User } from './stack';

let stack: Stack;
let ann: User;
let bob: User;
let annApi: Session;
let bobApi: Session;

beforeAll(async () => {
  stack = await startStack();
  [ann, bob] = [await addUser(stack, 'Reload'), await addUser(stack, 'Other')];
  [annApi, bobApi] = [await Session.signIn(stack.base, ann), await Session.signIn(stack.base, bob)];
});

afterAll(async () => {
  await stack?.stop();
});

/** What idb-keyval's default store holds (database keyval-store, object store keyval): persisted lists by key. */
const persisted = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<Record<string, string>>((resolve, reject) => {
        const req = indexedDB.open('keyval-store');
        // Created here only if the app never opened it: with the store idb-keyval would make.
        req.onupgradeneeded = () => req.result.createObjectStore('keyval');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const out: Record<string, string> = {};
          const cursor = db.transaction('keyval', 'readonly').objectStore('keyval').openCursor();
          cursor.onerror = () => reject(cursor.error);
          cursor.onsuccess = () => {
            const c = cursor.result;
            if (!c) {
              db.close();
              resolve(out);
              return;
            }
            if (typeof c.key === 'string' && c.key.startsWith('realtime-cache:')) out[c.key] = String(c.value);
            c.continue();
          };
        };
      }),
  );

/** Waits until the persisted state holds the projects list with all of `ids`, and returns it. */
async function persistedProjects(page: Page, ids: string[]): Promise<{ key: string; items: { id: string }[]; position?: { seq: number; fp?: string } }> {
  for (let i = 0; i < 100; i++) {
    for (const [key, value] of Object.entries(await persisted(page))) {
      const client = JSON.parse(value) as { clientState: { queries: { queryKey: unknown[]; state: { data: { items: { id: string }[]; position?: { seq: number; fp?: string } } } }[] } };
      const list = client.clientState.queries.find((q) => JSON.stringify(q.queryKey) === '["projects","list"]');
      if (list && ids.every((id) => list.state.data.items.some((r) => r.id === id))) return { key, ...list.state.data };
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`the persisted projects list never held ${ids.join(', ')}`);
}

const sorted = (ids: string[]) => [...ids].sort();

test('a reload with the list requests failing shows the cached projects at once, and resumes: a project created after it arrives', async () => {
  const first = await annApi.post('projects', { name: 'Reload one' });
  const page = await signedInPage(stack, ann);
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  await page.waitForSelector(`[data-testid=project][data-id="${first.id}"]`, { timeout: 10_000 });
  // One that arrives over the stream: the persisted list then holds a position past its cursor.
  const second = await annApi.post('projects', { name: 'Reload two' });
  await page.waitForSelector(`[data-testid=project][data-id="${second.id}"]`, { timeout: 5000 });
  const saved = await persistedProjects(page, [first.id, second.id]);
  expect(saved.key).toMatch(/^realtime-cache:/);
  expect(saved.position?.seq).toBeGreaterThan(0);
  expect(saved.position?.fp).toMatch(/^[A-Za-z0-9_-]{12}$/);

  // Every list request fails from now on (and is counted).
  const listRequests: string[] = [];
  const failList = (route: Route) => {
    listRequests.push(route.request().url());
    return route.abort();
  };
  await page.route('**/api/projects?*', failList);
  // What the page's socket sends: the subscribe after the reload carries the stored position.
  const sent: string[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
  await page.reload();
  // At once: the persisted list, before any list answer (none will come).
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=project]').length === n, 2, { timeout: 5000 });
  expect(sorted(await projectIds(page))).toEqual(sorted([first.id, second.id]));

  // Created by another client after the reload: it can only come by the resumed subscription.
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  const third = await annApi.post('projects', { name: 'Reload three' });
  await page.waitForSelector(`[data-testid=project][data-id="${third.id}"]`, { timeout: 5000 });
  expect(sorted(await projectIds(page))).toEqual(sorted([first.id, second.id, third.id]));
  // The list was not read again at all: the resume brought what it lacked, from the stored position.
  expect(listRequests).toEqual([]);
  const subscribe = sent.find((f) => f.includes('"subscribe"') && f.includes('"projects"'));
  expect(subscribe).toContain(`"since":${saved.position!.seq}`);
  expect(subscribe).toContain(`"fp":"${saved.position!.fp}"`);
  await page.context().close();
});

test("sign-out deletes the persisted lists; another user signing in on the same browser sees none of the first user's projects", async () => {
  const annProject = await annApi.post('projects', { name: 'Ann only' });
  const bobProject = await bobApi.post('projects', { name: 'Bob only' });
  const page = await signedInPage(stack, ann);
  await page.waitForSelector(`[data-testid=project][data-id="${annProject.id}"]`, { timeout: 10_000 });
  const { key } = await persistedProjects(page, [annProject.id]);

  await page.click('button:has-text("Sign out")');
  await page.waitForSelector('[data-testid=sign-in]', { timeout: 10_000 });
  // Gone, and no save still pending brings it back.
  await page.waitForTimeout(1500);
  expect(Object.keys(await persisted(page))).not.toContain(key);
  expect(await persisted(page)).toEqual({});

  // Bob's list answers late: until it does, nothing of Ann's is on screen.
  let releaseBob!: () => void;
  const bobListed = new Promise<void>((r) => (releaseBob = r));
  await page.route('**/api/projects?*', async (route) => {
    await bobListed;
    await route.continue();
  });
  await page.fill('input[name=email]', bob.email);
  await page.fill('input[name=password]', bob.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=user]', { timeout: 15_000 });
  await page.waitForTimeout(500);
  expect(await projectIds(page)).toEqual([]);
  releaseBob();
  await page.waitForSelector(`[data-testid=project][data-id="${bobProject.id}"]`, { timeout: 10_000 });
  expect(await projectIds(page)).not.toContain(annProject.id);
  expect(Object.keys(await persisted(page)).every((k) => !k.endsWith(key.slice('realtime-cache:'.length)))).toBe(true);
  await page.context().close();
});

test('another user signing in deletes what the previous one left persisted (a session that ended without sign-out)', async () => {
  const annProject = await annApi.post('projects', { name: 'Ann left behind' });
  const page = await signedInPage(stack, ann);
  await page.waitForSelector(`[data-testid=project][data-id="${annProject.id}"]`, { timeout: 10_000 });
  const { key } = await persistedProjects(page, [annProject.id]);
  // The session ends without a sign-out (its cookie gone): Ann's lists stay persisted until...
  await page.context().clearCookies();
  await page.reload();
  await page.waitForSelector('[data-testid=sign-in]', { timeout: 10_000 });
  expect(Object.keys(await persisted(page))).toContain(key);
  // ...another user signs in on this browser.
  await page.fill('input[name=email]', bob.email);
  await page.fill('input[name=password]', bob.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=user]', { timeout: 15_000 });
  expect(await projectIds(page)).not.toContain(annProject.id);
  for (let i = 0; i < 50 && Object.keys(await persisted(page)).includes(key); i++) await page.waitForTimeout(100);
  expect(Object.keys(await persisted(page))).not.toContain(key);
  await page.context().close();
});
