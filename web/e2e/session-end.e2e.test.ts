// A session the server ends, in a real browser: "Sign out everywhere" in one browser sends
// every other browser of that user to the sign-in page at once, saying why; a password
// reset by an operator does the same. The real `npm start` process, its gateway and chromium.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { addUser, signedInPage, startStack, usersCli, type Stack } from './stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** Signed in, its socket live: only then can the end reach it through the stream. */
async function live(page: Page): Promise<Page> {
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  return page;
}

test("sign out everywhere: this browser signs out, and the user's other browser follows within seconds, saying why", async () => {
  const user = await addUser(stack, 'Everywhere');
  const here = await live(await signedInPage(stack, user));
  const there = await live(await signedInPage(stack, user));

  await here.getByRole('button', { name: 'Sign out everywhere', exact: true }).click();
  await here.waitForSelector('[data-testid=sign-in]', { timeout: 10_000 });
  // Asked for here: no note of why.
  expect(await here.$('[data-testid=session-ended]')).toBeNull();

  // No request of the other browser tells it: the stream does.
  const note = await there.waitForSelector('[data-testid=session-ended]', { timeout: 5_000 });
  expect(await note.textContent()).toBe('You were signed out on every device.');
  expect(await there.$('header')).toBeNull();
  await here.context().close();
  await there.context().close();
});

test('a password reset by an operator sends the user to the sign-in page, which asks for the new password', async () => {
  const user = await addUser(stack, 'Reset');
  const page = await live(await signedInPage(stack, user));
  await usersCli(stack, ['reset-password', user.email, '--password-stdin'], 'Reset-new-correct-horse-battery\n');
  const note = await page.waitForSelector('[data-testid=session-ended]', { timeout: 5_000 });
  expect(await note.textContent()).toBe('Your password was reset, which signs you out everywhere. Sign in with the new password.');

  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', 'Reset-new-correct-horse-battery');
  await page.click('button[type=submit]');
  await live(page);
  await page.context().close();
});
