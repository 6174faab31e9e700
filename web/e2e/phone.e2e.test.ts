// On a phone (playwright-core's iPhone 13 profile on chromium, 390 wide): every control,
// every list and the connection badge are within the screen, or inside a container of
// their own that scrolls sideways and is itself within the screen; the page never scrolls
// sideways; nothing covers a control; and the create form and the Drop control work by touch.
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { repoRoot, startStack, type Stack } from './stack';
import { makeWorld, pageNames, phone, visit, type World } from './pages';

const WIDTH = phone.viewport!.width;

let stack: Stack;
let world: World;

beforeAll(async () => {
  stack = await startStack();
  world = await makeWorld(stack);
});

afterAll(async () => {
  await stack?.stop();
});

const shot = (name: string) => path.join(repoRoot, 'web', '.reports', `e2e-phone-${name}.png`);

/**
 * What does not fit: each control, list or badge that reaches past either edge and is not
 * inside a sideways-scrolling container within the screen, or that something else covers
 * when scrolled into view.
 */
function misfits(page: Page): Promise<string[]> {
  return page.evaluate((width) => {
    const selector = 'a[href], button, input, select, textarea, [role=button], [tabindex]:not([tabindex="-1"]), [data-testid=connection], table, ul, ol';
    const fits = (r: DOMRect) => r.left >= -0.5 && r.right <= width + 0.5;
    const scroller = (el: Element) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const x = getComputedStyle(p).overflowX;
        if (x === 'auto' || x === 'scroll') return p;
      }
      return null;
    };
    const name = (el: Element) =>
      `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}>` +
      ` "${(el.getAttribute('aria-label') ?? el.getAttribute('placeholder') ?? el.textContent ?? '').trim().slice(0, 40)}"`;
    const out: string[] = [];
    for (const el of document.querySelectorAll(selector)) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not rendered
      if (!fits(r)) {
        const s = scroller(el);
        if (!s) {
          out.push(`${name(el)} spans x ${Math.round(r.left)}..${Math.round(r.right)}, outside 0..${width}`);
          continue;
        }
        const sr = s.getBoundingClientRect();
        if (!fits(sr)) {
          out.push(`${name(el)} scrolls inside ${name(s)}, which spans x ${Math.round(sr.left)}..${Math.round(sr.right)}`);
          continue;
        }
      }
      if (['TABLE', 'UL', 'OL'].includes(el.tagName)) continue; // a list need only be on screen
      el.scrollIntoView({ block: 'center', inline: 'nearest' });
      const c = el.getBoundingClientRect();
      const hit = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
      if (!hit || !(el.contains(hit) || (hit instanceof HTMLLabelElement && hit.control === el))) {
        out.push(`${name(el)} is covered by ${hit ? name(hit) : 'nothing on screen'}`);
      }
    }
    window.scrollTo(0, 0);
    return out;
  }, WIDTH);
}

/** The width of the page (the screen's, unless something makes it scroll sideways) and what sticks out past the screen, not clipped by a scrolling box. */
const width = (page: Page) =>
  page.evaluate((screen) => {
    const width = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
    // A box that scrolls clips its content, but not what is positioned against a box outside it.
    const clipped = (el: Element) => {
      const absolute = ['absolute', 'fixed'].includes(getComputedStyle(el).position);
      const containing = absolute && el instanceof HTMLElement ? el.offsetParent : null;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (absolute && (!containing || !(p === containing || p.contains(containing)))) continue;
        if (getComputedStyle(p).overflowX !== 'visible') return true;
      }
      return false;
    };
    const out = [...document.body.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > screen + 0.5 && !clipped(el))
      .slice(0, 10)
      .map((el) => `<${el.tagName.toLowerCase()} class="${el.getAttribute('class') ?? ''}"> to x ${Math.round(el.getBoundingClientRect().right)}`);
    return { width, outside: out };
  }, WIDTH);

for (const name of pageNames) {
  test(`${name} on a phone: every control, list and the connection badge within the screen, no sideways scroll`, async () => {
    const page = await visit(world, name, phone);
    await page.screenshot({ path: shot(name), fullPage: true }).catch(() => undefined);
    expect(await misfits(page)).toEqual([]);
    expect(await width(page)).toEqual({ width: WIDTH, outside: [] });
    if (name !== 'sign-in') {
      const badge = (await page.locator('[data-testid=connection]').boundingBox())!;
      expect(badge.x).toBeGreaterThanOrEqual(0);
      expect(badge.x + badge.width).toBeLessThanOrEqual(WIDTH);
      expect(await page.locator('[data-testid=drop]').isVisible()).toBe(true);
    }
    await page.context().close();
  });
}

test('on a phone, Drop works by touch and the longer offline badge stays on screen', async () => {
  const page = await visit(world, 'projects', phone);
  await page.locator('[data-testid=drop]').tap();
  await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 5000 });
  expect(await misfits(page)).toEqual([]);
  expect(await width(page)).toEqual({ width: WIDTH, outside: [] });
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 20_000 });
  await page.context().close();
});

test('on a phone, the create form is on screen and creates a project by touch', async () => {
  const page = await visit(world, 'projects', phone);
  const form = page.locator('form', { has: page.locator('button[type=submit]', { hasText: 'Create' }) });
  const name = form.getByLabel('New project name');
  const description = form.getByLabel('Description');
  const create = form.getByRole('button', { name: 'Create' });
  for (const control of [name, description, create]) {
    await control.scrollIntoViewIfNeeded();
    const box = (await control.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(WIDTH);
    expect(box.width).toBeGreaterThanOrEqual(44); // wide enough to hit with a thumb
  }
  await name.tap();
  await name.fill('Made on a phone');
  await description.tap();
  await description.fill('Typed with thumbs');
  await create.tap();
  const card = page.locator('[data-testid=project]', { hasText: 'Made on a phone' });
  await card.waitFor({ timeout: 5000 });
  expect(await card.textContent()).toContain('Typed with thumbs');
  expect(await name.inputValue()).toBe('');
  expect(await width(page)).toEqual({ width: WIDTH, outside: [] });
  await page.context().close();
});

test('on a phone, writes made offline: the waiting count, the pending rows and the writes page fit the screen', async () => {
  const page = await visit(world, 'projects', phone);
  await page.context().setOffline(true);
  await page.waitForSelector('[data-testid=connection][data-status=offline]', { timeout: 10_000 });
  const form = page.locator('form', { has: page.locator('button[type=submit]', { hasText: 'Create' }) });
  for (const n of ['Queued on a phone with a rather long name that must wrap', 'And another']) {
    await form.getByLabel('New project name').fill(n);
    await form.getByRole('button', { name: 'Create' }).tap();
  }
  await page.waitForSelector('[data-testid=writes][data-waiting="2"]');
  expect(await misfits(page)).toEqual([]);
  expect(await width(page)).toEqual({ width: WIDTH, outside: [] });
  await page.locator('[data-testid=writes]').tap();
  await page.waitForSelector('[data-testid=writes-page] [data-testid=write]');
  await page.screenshot({ path: shot('writes'), fullPage: true }).catch(() => undefined);
  expect(await misfits(page)).toEqual([]);
  expect(await width(page)).toEqual({ width: WIDTH, outside: [] });
  // Discarded by touch: the write is gone from the page and from the list.
  await page.locator('[data-testid=write]', { hasText: 'And another' }).getByRole('button', { name: 'Discard' }).tap();
  await page.waitForSelector('[data-testid=writes][data-waiting="1"]');
  await page.context().close();
});
