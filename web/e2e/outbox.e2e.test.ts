// The Outbox page as an operator reads it: the true number of changes, every change
// reachable by scrolling (older pages load by position as the end comes into view), and a
// change far down the list opening its row's history in view, by keyboard alone.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { addUser, Session, signedInPage, startStack, type Stack, type User } from './stack';
import { toEnd, totalOf } from './window';

let stack: Stack;
let operator: User;

beforeAll(async () => {
  stack = await startStack();
  operator = await addUser(stack, 'Auditor', { operator: true });
});

afterAll(async () => {
  await stack?.stop();
});

test('every change reachable by scrolling, and the oldest one opens its history in view by keyboard', async () => {
  const session = await Session.signIn(stack.base, operator);
  const project = await session.post('projects', { name: 'Audited' });
  await stack.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'audit-' || g || '.pdf' FROM generate_series(1, 450) g`, [project.id]);
  const all = Number((await stack.pool.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox`)).rows[0]!.n);
  expect(all).toBeGreaterThan(450);

  // A phone's screen: the list and its history do not fit in one view.
  const page = await signedInPage(stack, operator, { viewport: { width: 390, height: 844 } });
  await page.goto(`${stack.base}/#/outbox`);
  await page.waitForFunction((n) => document.querySelector('section:has([data-testid=outbox]) [data-testid=total]')?.getAttribute('data-count') === String(n), all, { timeout: 30_000 });
  expect(await page.textContent('section:has([data-testid=outbox]) [data-testid=more-rows]')).toContain(`100 of ${all.toLocaleString('en-US')} changes`);

  // Scrolling to the end loads the older pages, and reading them stops following.
  await toEnd(page, 'outbox');
  expect(await totalOf(page, 'outbox')).toBe(all);
  const oldest = (await stack.pool.query<{ id: string }>(`SELECT min(id)::text AS id FROM change_outbox`)).rows[0]!.id;
  const last = page.locator('[data-testid=outbox] tbody tr[data-id]').last();
  expect(await last.getAttribute('data-id')).toBe(oldest);
  expect(await page.isChecked('input[type=checkbox]')).toBe(false);
  const rowId = (await last.locator('td').nth(3).textContent())!;
  const table = (await last.locator('td').nth(1).textContent())!;

  // By keyboard, from the bottom of the page: the row's seq button takes focus, Enter opens
  // its history (above the list), and the history is brought into view.
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await last.locator('button').focus();
  await page.keyboard.press('Enter');
  const history = page.locator('[data-testid=history]');
  await history.waitFor({ timeout: 10_000 });
  expect(await history.getAttribute('aria-label')).toBe(`History of ${table} ${rowId}`);
  await page.waitForFunction(() => {
    const r = document.querySelector('[data-testid=history]')!.getBoundingClientRect();
    return r.top >= 0 && r.top < window.innerHeight;
  }, undefined, { timeout: 10_000 });
  await page.context().close();
});
