// The Content-Security-Policy the API sends (services/api/src/limits/headers.ts) against
// the built app in a real browser: it loads, signs in, goes live over the socket and
// writes, and the browser reports no violation on the way. Also how the built files
// travel: as the build's compressed copies.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { addUser, Session, startStack, type Stack, type User } from './stack';

let stack: Stack;
let user: User;

beforeAll(async () => {
  stack = await startStack();
  user = await addUser(stack, 'Policy');
});

afterAll(async () => {
  await stack?.stop();
});

test('the app works under its Content-Security-Policy with no violation', async () => {
  const project = await (await Session.signIn(stack.base, user)).post('projects', { name: 'E2E policy' });
  const context = await stack.browser.newContext();
  // Recorded in the page from its first script on, so that nothing is missed before a listener here.
  await context.addInitScript(() => {
    const w = window as unknown as { violations: string[] };
    w.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));

  const first = await page.goto(`${stack.base}/#/`);
  expect(first?.headers()['content-security-policy']).toContain("script-src 'self'");
  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=user]', { timeout: 15_000 });
  await page.goto(`${stack.base}/#/projects/${project.id}`);
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  await page.fill('input[placeholder="document.pdf"]', 'under-policy.pdf');
  await page.click('text=Add job');
  await page.locator('[data-testid=job]', { hasText: 'under-policy.pdf' }).waitFor({ timeout: 5000 });

  expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
  expect(errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  await context.close();
});

test("a first visit's script and style arrive as the build's compressed copies, and the page works from them", async () => {
  const context = await stack.browser.newContext();
  const page = await context.newPage();
  const assets: { url: string; encoding: string | undefined; vary: string | undefined }[] = [];
  page.on('response', (r) => {
    if (/\/assets\/[^/]+\.(js|css)$/.test(new URL(r.url()).pathname)) assets.push({ url: r.url(), encoding: r.headers()['content-encoding'], vary: r.headers()['vary'] });
  });
  await page.goto(`${stack.base}/#/`);
  await page.waitForSelector('input[name=email]', { timeout: 15_000 });
  expect(assets.length).toBeGreaterThanOrEqual(2);
  // Chromium offers brotli to a trustworthy origin, which 127.0.0.1 is.
  for (const a of assets) {
    expect(a.encoding, a.url).toBe('br');
    expect(a.vary, a.url).toContain('accept-encoding');
  }
  await context.close();
});
