// Access in a real browser: signed out, only the sign-in page; two users in two browser
// contexts each see only their own projects and the one they share (the owner invites from
// the members panel, the invitee accepts on the projects page); when the owner revokes the
// other's membership, the other's open pages lose that project without a reload. And a page stays live past its
// realtime token's lifetime, the token renewed on the open socket.
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { addUser, openProject, projectIds, repoRoot, Session, signedInPage, startStack, type Stack, type User } from './stack';

// The shortest lifetime the server accepts, so that a renewal happens within the test.
const TOKEN_TTL_SECONDS = 60;

let stack: Stack;
let ann: User;
let bob: User;
let annApi: Session;
let bobApi: Session;

beforeAll(async () => {
  stack = await startStack({ REALTIME_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) });
  [ann, bob] = [await addUser(stack, 'Ann'), await addUser(stack, 'Bob')];
  [annApi, bobApi] = [await Session.signIn(stack.base, ann), await Session.signIn(stack.base, bob)];
});

afterAll(async () => {
  await stack?.stop();
});

const sorted = (ids: string[]) => [...ids].sort();
const shot = (name: string) => path.join(repoRoot, 'web', '.reports', `e2e-${name}.png`);

test('signed out, the app is its sign-in page and nothing else; a wrong password says so', async () => {
  const page = await (await stack.browser.newContext()).newPage();
  await page.goto(`${stack.base}/#/`);
  await page.waitForSelector('[data-testid=sign-in]');
  expect(await page.$('header')).toBeNull();
  await page.fill('input[name=email]', ann.email);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  expect(await page.textContent('[data-testid=sign-in] [role=alert]', { timeout: 5000 })).toBe('wrong email or password');
  await page.screenshot({ path: shot('sign-in') }).catch(() => undefined);
  await page.context().close();
});

test('each user sees only their projects; an invitee joins on accepting; a revoked member loses the shared one without a reload', async () => {
  const annOwn = await annApi.post('projects', { name: "Ann's own" });
  const bobOwn = await bobApi.post('projects', { name: "Bob's own" });
  const shared = await annApi.post('projects', { name: 'Shared' });

  // Ann invites Bob from the members panel; the answer names nobody.
  const a = await signedInPage(stack, ann);
  await a.goto(`${stack.base}/#/projects/${shared.id}`);
  await a.fill('[data-testid=members] input[type=email]', bob.email);
  await a.selectOption('[data-testid=members] select[aria-label=Role]', 'editor');
  await a.getByRole('button', { name: 'Invite' }).click();
  await a.waitForSelector(`[data-testid=invitation][data-email="${bob.email}"]`);
  expect(await a.textContent('[data-testid=members] [role=status]')).toBe(`Invited ${bob.email}: they join once they accept.`);
  await a.goto(`${stack.base}/#/`);

  // Bob sees the invitation, not the project, until he accepts it.
  const b = await signedInPage(stack, bob);
  await b.waitForSelector(`[data-testid=my-invitation][data-project="${shared.id}"]`);
  // The invitations and the list are two reads: the list may render a moment later.
  await b.waitForSelector('[data-testid=project]');
  expect(await projectIds(b)).toEqual([bobOwn.id]);
  await b.locator(`[data-testid=my-invitation][data-project="${shared.id}"]`).getByRole('button', { name: 'Accept' }).click();
  await a.waitForFunction((n) => document.querySelectorAll('[data-testid=project]').length === n, 2);
  await b.waitForFunction((n) => document.querySelectorAll('[data-testid=project]').length === n, 2);
  // The project can arrive over the stream before the answer to Accept does.
  await b.locator('[data-testid=my-invitations]').waitFor({ state: 'detached', timeout: 5000 });
  expect(sorted(await projectIds(a))).toEqual(sorted([annOwn.id, shared.id]));
  expect(sorted(await projectIds(b))).toEqual(sorted([bobOwn.id, shared.id]));
  expect(await a.textContent('[data-testid=user]')).toBe('Ann');
  expect(await b.textContent('[data-testid=user]')).toBe('Bob');
  // Nobody here is an operator: no Outbox link.
  expect(await a.$$eval('.nav a', (links) => links.map((l) => l.textContent))).toEqual(['Projects']);

  // Bob has the shared project open in one tab and the list in another, both live.
  const bobProject = await b.context().newPage();
  await bobProject.goto(`${stack.base}/#/projects/${shared.id}`);
  await bobProject.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  expect(await bobProject.textContent('[data-testid=role]')).toBe('editor');
  // An editor writes jobs but does not manage members.
  expect(await bobProject.$('input[placeholder="document.pdf"]')).not.toBeNull();
  expect(await bobProject.$('[data-testid=members] form')).toBeNull();
  await b.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });

  // Ann, the owner, revokes Bob's membership through the API.
  const bobMember = (await annApi.members(shared.id)).find((m) => m.email === bob.email)!;
  await annApi.request('DELETE', `projects/${shared.id}/members/${bobMember.userId}`);

  await bobProject.waitForSelector('[data-testid=no-access]', { timeout: 5000 });
  expect(await bobProject.textContent('[data-testid=no-access] h2')).toBe('You no longer have access to this project');
  await bobProject.screenshot({ path: shot('no-access') }).catch(() => undefined);
  await b.locator(`[data-testid=project][data-id="${shared.id}"]`).waitFor({ state: 'detached', timeout: 5000 });
  expect(await projectIds(b)).toEqual([bobOwn.id]);
  // The server agrees: the project is not Bob's to read any more.
  await bobApi.request('GET', `projects/${shared.id}`, undefined, [404]);
  // Ann still has it, and the link back takes Bob to his list.
  expect(sorted(await projectIds(a))).toEqual(sorted([annOwn.id, shared.id]));
  await bobProject.click('[data-testid=no-access] a');
  await bobProject.waitForFunction((n) => document.querySelectorAll('[data-testid=project]').length === n, 1);

  // What the owner sees: the members panel, Bob gone from it.
  await a.goto(`${stack.base}/#/projects/${shared.id}`);
  await a.waitForSelector('[data-testid=member]');
  expect(await a.$$eval('[data-testid=member]', (rows) => rows.map((r) => r.getAttribute('data-email')))).toEqual([ann.email]);
  await a.screenshot({ path: shot('owner'), fullPage: true }).catch(() => undefined);
  for (const page of [a, b]) await page.context().close();
});

test('a page stays live past its token lifetime: the token is renewed on the open socket, not by reconnecting', async () => {
  const project = await annApi.post('projects', { name: 'Long-lived page' });
  const page: Page = await openProject(stack, ann, project.id);
  let sockets = 0;
  page.on('websocket', () => sockets++);
  const tokenRequests: string[] = [];
  page.on('request', (r) => r.url().endsWith('/api/realtime/token') && tokenRequests.push(r.url()));
  // Every status the badge shows from now on: a reconnect would pass through offline
  // (catching-up alone is a list that loaded late, or was refetched, starting its replay).
  await page.evaluate(() => {
    const w = window as unknown as { statuses: string[] };
    w.statuses = [];
    const badge = document.querySelector('[data-testid=connection]')!;
    new MutationObserver(() => w.statuses.push(badge.getAttribute('data-status')!)).observe(badge, { attributes: true, attributeFilter: ['data-status'] });
  });

  await page.waitForTimeout((TOKEN_TTL_SECONDS + 10) * 1000);
  const job = await annApi.post('extraction-jobs', { projectId: project.id, documentName: 'after-expiry.pdf' });
  await page.locator(`[data-testid=job][data-id="${job.id}"]`).waitFor({ timeout: 2000 });
  // Renewed every 10 s (the floor: a minute before a 60 s token is now), on the one socket.
  expect(tokenRequests.length).toBeGreaterThanOrEqual(3);
  expect(sockets).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses)).not.toContain('offline');
  await page.context().close();
});
