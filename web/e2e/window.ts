// Windowed tables render only the rows in view: what a test reads of one is scrolled
// through, top to bottom, the way a user would see every row.
import type { Page } from 'playwright-core';

export interface SeenRow {
  id: string;
  status: string | null;
  progress: number | null;
  /** Its place in the list (aria-rowindex - 2). */
  index: number;
}

/** The count in the heading of the section holding `table` (the filtered set's total), or null while it loads. */
export const totalOf = (page: Page, table: string) =>
  page.$eval(`section:has([data-testid=${table}]) [data-testid=total]`, (el) => {
    const n = el.getAttribute('data-count');
    return n === null ? null : Number(n);
  });

/**
 * Every loaded row of a windowed table, in list order, by scrolling its box from the top
 * to the bottom a half screen at a time (each step waits two frames for the virtualizer).
 * Rows of pages not loaded yet are not read: scroll `toEnd` first for those.
 */
export function rowsOf(page: Page, table: string): Promise<SeenRow[]> {
  return page.evaluate(async (testid) => {
    const el = document.querySelector(`[data-testid=${testid}]`)!;
    const box = el.closest('.table-window') as HTMLElement;
    const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const seen = new Map<number, { id: string; status: string | null; progress: number | null; index: number }>();
    box.scrollTop = 0;
    await frames();
    for (let guard = 0; guard < 100_000; guard++) {
      for (const tr of el.querySelectorAll<HTMLElement>('tbody tr[data-id]')) {
        const index = Number(tr.getAttribute('aria-rowindex')) - 2;
        const bar = tr.querySelector('[role=progressbar]');
        seen.set(index, { id: tr.dataset.id!, status: tr.dataset.status ?? null, progress: bar ? Number(bar.getAttribute('aria-valuenow')) : null, index });
      }
      if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) break;
      box.scrollTop += Math.max(1, Math.floor(box.clientHeight / 2));
      await frames();
    }
    return [...seen.values()].sort((a, b) => a.index - b.index);
  }, table);
}

/** Scrolls the table's box to its bottom until every row of its total is loaded (the infinite scroll's own loading). */
export async function toEnd(page: Page, table: string, timeoutMs = 120_000): Promise<void> {
  await page.waitForFunction(
    (testid) => {
      const el = document.querySelector(`[data-testid=${testid}]`)!;
      const box = el.closest('.table-window') as HTMLElement;
      box.scrollTop = box.scrollHeight;
      const want = Number(el.getAttribute('aria-rowcount')) - 1;
      const last = el.querySelector('tbody tr[data-id]:last-of-type');
      return want >= 0 && last !== null && Number(last.getAttribute('aria-rowindex')) - 1 === want;
    },
    table,
    { timeout: timeoutMs, polling: 100 },
  );
}
