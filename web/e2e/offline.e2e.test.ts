// Twenty seconds without a network, in a real browser: the header says Offline and how
// old the data is, nothing reads a list while the socket is down or after it returns,
// and once the network is back the page is Live within 2 s (the browser's `online`, not
// the backoff's next step), with a project made meanwhile by another client brought by
// replay.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Request } from 'playwright-core';
import { addUser, Session, signedInPage, startStack, type Stack, type User } from './stack';

let stack: Stack;
let user: User;
let session: Session;

beforeAll(async () => {
  stack = await startStack();
  user = await addUser(stack, 'Offline');
  session = await Session.signIn(stack.base, user);
});

afterAll(async () => {
  await stack?.stop();
});

/** A full read of a list: GET /api/<resource>, with or without a query (not /api/me, not a row, not the token). */
const isListRead = (r: Request) => r.method() === 'GET' && /^\/api\/(?!me$)[a-z-]+$/.test(new URL(r.url()).pathname);

test('20 s offline: Offline with the data\'s age, no list read during or after, Live within 2 s of the return, a project made meanwhile arrives by replay', async () => {
  const first = await session.post('projects', { name: 'Before the outage' });
  const page = await signedInPage(stack, user);
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  await page.locator(`[data-testid=project][data-id="${first.id}"]`).waitFor({ timeout: 5000 });

  const listReads: string[] = [];
  page.on('request', (r) => {
    if (isListRead(r)) listReads.push(r.url());
  });

  await page.context().setOffline(true);
  const offlineAt = Date.now();
  await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 10_000 });
  // Made by another API client while the page cannot hear it.
  const during = await session.post('projects', { name: 'Made during the outage' });

  // Halfway: the header says how old the data is, and the age moves on by itself.
  await page.waitForTimeout(Math.max(0, offlineAt + 12_000 - Date.now()));
  const halfway = (await page.textContent('[data-testid=connection]'))!;
  expect(halfway).toMatch(/^Offline · data from \d+s ago$/);
  expect(Number(/(\d+)s ago/.exec(halfway)![1])).toBeGreaterThanOrEqual(6);
  await page.waitForTimeout(Math.max(0, offlineAt + 20_000 - Date.now()));
  expect(await page.getAttribute('[data-testid=connection]', 'data-status')).toBe('offline');
  expect(await page.locator(`[data-testid=project][data-id="${during.id}"]`).count()).toBe(0);

  await page.context().setOffline(false);
  const back = Date.now();
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 2000 });
  const liveAfter = Date.now() - back;
  await page.locator(`[data-testid=project][data-id="${during.id}"]`).waitFor({ timeout: 2000 });
  console.log(`offline ${((back - offlineAt) / 1000).toFixed(1)} s; Live ${liveAfter} ms after the network returned; header while offline: "${halfway}"`);
  expect(liveAfter).toBeLessThan(2000);
  // Arrived by replay: the header says what it caught up on.
  expect(await page.textContent('[data-testid=connection]')).toMatch(/caught up on \d+ change/);

  // Long enough for a refetch on reconnect, or a poll, to have shown itself.
  await page.waitForTimeout(3000);
  expect(listReads).toEqual([]);
  await page.context().close();
});
