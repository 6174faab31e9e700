// What every windowed list shows: the size of the whole filtered set (never a "0" before
// it is known), the rows loaded so far, the next page loaded as the end of the list comes
// into view, and a "Load more" button for when it does not (no IntersectionObserver, a
// failed page, a keyboard user). Long tables render only the rows in view (useWindowRows).
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type FocusEvent, type ReactNode, type RefObject } from 'react';
import { defaultRangeExtractor, measureElement, useVirtualizer, type Range, type Virtualizer } from '@tanstack/react-virtual';
import { countOf, formatCount } from './format';

/** What a window's footer needs of useLiveInfiniteQuery's answer. */
export interface Pages {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  isFetchNextPageError: boolean;
  fetchNextPage: () => unknown;
}

/** The heading's count: the filtered set's size once known; until then a placeholder, never a "0". `atLeast`: a count that stopped at its cap ("10,000+"). */
export function Total({ total, label, atLeast = false }: { total: number | undefined; label: string; atLeast?: boolean }) {
  if (total === undefined) {
    return (
      <span className="count count-pending" aria-busy="true" aria-label={`${label}: loading`} data-testid="total">
        …
      </span>
    );
  }
  return (
    <span className="count" aria-label={`${atLeast ? 'over ' : ''}${formatCount(total)} ${label}`} data-testid="total" data-count={total}>
      {formatCount(total)}
      {atLeast ? '+' : ''}
    </span>
  );
}

/** Loads the next page once it is allowed and not already under way. */
const loadNext = (p: Pages) => {
  if (p.hasNextPage && !p.isFetchingNextPage) void p.fetchNextPage();
};

/**
 * The end of a list: how many of how many are shown, and "Load more" while there are
 * more. `watch`: the end loads the next page when it scrolls into view (for lists that
 * are not virtualized; a virtualized one asks from its range instead).
 */
export function MoreRows({ pages, shown, total, one, many, watch = false, atLeast = false }: { pages: Pages; shown: number; total: number | undefined; one: string; many?: string; watch?: boolean; atLeast?: boolean }) {
  const end = useRef<HTMLDivElement>(null);
  const latest = useRef(pages);
  useLayoutEffect(() => {
    latest.current = pages;
  });
  // The footer shows once the total is known: it is watched from then on.
  const present = total !== undefined && total > 0;
  useEffect(() => {
    const el = end.current;
    if (!watch || !el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => {
      // A failed page is not asked again by scrolling: the button says it failed.
      if (entries.some((e) => e.isIntersecting) && !latest.current.isFetchNextPageError) loadNext(latest.current);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [watch, present]);
  if (!present) return null;
  return (
    <div className="more-rows" ref={end} data-testid="more-rows">
      <span className="muted small" aria-live="polite">
        {atLeast ? `${formatCount(shown)} of over ${countOf(total, one, many)}` : shown >= total ? `All ${countOf(total, one, many)}` : `${formatCount(shown)} of ${countOf(total, one, many)}`}
      </span>
      {pages.isFetchNextPageError ? <span className="error small">Could not load more.</span> : null}
      {pages.hasNextPage ? (
        <button type="button" className="ghost" disabled={pages.isFetchingNextPage} onClick={() => loadNext(pages)}>
          {pages.isFetchingNextPage ? 'Loading…' : pages.isFetchNextPageError ? 'Try again' : 'Load more'}
        </button>
      ) : null}
    </div>
  );
}

/** Rows from the last one in view to the end of what is loaded under which the next page is asked for. */
const AHEAD = 20;

/**
 * A virtualized list of `rows` inside the scroll box `scrollRef` (a TableScroll with
 * `window`): only the rows in view (and `overscan` around them) are rendered.
 *
 * - A row entering or leaving above the view does not move what the user is reading:
 *   once scrolled down, the first row in view keeps its place on the screen (the
 *   virtualizer's anchoring, keyed by row id). At the very top a new row shows at once.
 * - The row holding the keyboard focus stays rendered while it is scrolled out of view,
 *   so focus is never dropped to the page, and Tab goes on from where it was.
 * - Scrolling to within AHEAD rows of the end loads the next page.
 */
export function useWindowRows<R>({ rows, keyOf, scrollRef, estimate, pages, overscan = 8 }: { rows: readonly R[]; keyOf: (row: R) => string; scrollRef: RefObject<HTMLElement | null>; estimate: number; pages: Pages; overscan?: number }) {
  const [margin, setMargin] = useState(0);
  const atTop = useRef(true);
  const focused = useRef<string | null>(null);
  const getItemKey = useCallback((i: number) => keyOf(rows[i]!), [rows, keyOf]);
  const rangeExtractor = useCallback(
    (range: Range) => {
      const shown = defaultRangeExtractor(range);
      const key = focused.current;
      if (key === null) return shown;
      const at = rows.findIndex((r) => keyOf(r) === key);
      if (at < 0 || shown.includes(at)) return shown;
      return [...shown, at].sort((a, b) => a - b);
    },
    [rows, keyOf],
  );
  const v = useVirtualizer<HTMLElement, HTMLTableRowElement>({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => estimate,
    getItemKey,
    rangeExtractor,
    overscan,
    // What lies above the rows in the scroll box (the table's head).
    scrollMargin: margin,
    // Anchored to what is in view (kept in place as rows come and go above it), except
    // at the top, where the newest rows are meant to show as they come.
    anchorTo: atTop.current ? 'start' : 'end',
    onChange: (instance) => {
      atTop.current = (instance.scrollOffset ?? 0) <= 0;
    },
    // A row not laid out (a hidden panel) keeps its estimate rather than collapsing to 0.
    measureElement: (el, entry, instance) => measureElement(el, entry, instance) || estimate,
  });
  useLayoutEffect(() => {
    const head = scrollRef.current?.querySelector('thead');
    setMargin(head instanceof HTMLElement ? head.offsetHeight : 0);
  }, [scrollRef]);
  const items = v.getVirtualItems();
  const lastShown = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (rows.length > 0 && lastShown >= rows.length - 1 - AHEAD && !pages.isFetchNextPageError) loadNext(pages);
  }, [lastShown, rows.length, pages]);
  const onFocus = useCallback((e: FocusEvent<HTMLElement>) => {
    const row = (e.target as HTMLElement).closest<HTMLElement>('[data-key]');
    focused.current = row?.dataset.key ?? null;
  }, []);
  const onBlur = useCallback((e: FocusEvent<HTMLElement>) => {
    if (!e.currentTarget.contains(e.relatedTarget as Node | null)) focused.current = null;
  }, []);
  return { virtualizer: v, items, bodyProps: { onFocus, onBlur } };
}

/**
 * The rendered rows of a virtualized table body, with spacer rows standing for the rows
 * not rendered, so that the scroll height is that of every loaded row. `row` renders one
 * row; it must put `data-index` and `data-key` on its <tr> and pass it `measure` as ref.
 */
export function WindowRows<R>({ rows, virtualizer, columns, row }: { rows: readonly R[]; virtualizer: Virtualizer<HTMLElement, HTMLTableRowElement>; columns: number; row: (r: R, index: number, measure: (el: HTMLTableRowElement | null) => void) => ReactNode }) {
  const margin = virtualizer.options.scrollMargin;
  const out: ReactNode[] = [];
  let at = margin;
  const gap = (key: string, height: number) =>
    height > 0 ? (
      <tr key={key} className="gap" aria-hidden="true">
        <td colSpan={columns} style={{ height }} />
      </tr>
    ) : null;
  for (const item of virtualizer.getVirtualItems()) {
    const r = rows[item.index];
    if (r === undefined) continue;
    out.push(gap(`gap-${String(item.key)}`, item.start - at));
    out.push(row(r, item.index, virtualizer.measureElement));
    at = item.end;
  }
  out.push(gap('gap-end', margin + virtualizer.getTotalSize() - at));
  return <>{out}</>;
}
