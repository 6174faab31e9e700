// useLiveInfiniteQuery: a list of any size as a live window on TanStack Query's infinite
// queries. Each cached page keeps the rows of its own range (after the previous page's
// end, up to its own); after every batch the window's rows are split into the pages
// again, in one setQueryData. The next page is merged across the seam with the changes
// that arrived while it was in flight (`extendWindow`), and a resync goes back to the
// first page.
import { useEffect, useLayoutEffect, useRef, useSyncExternalStore } from 'react';
import {
  hashKey,
  useInfiniteQuery,
  useQueryClient,
  type InfiniteData,
  type QueryKey,
  type UseInfiniteQueryOptions,
  type UseInfiniteQueryResult,
} from '@tanstack/react-query';
import {
  applyToWindow,
  compareTuples,
  extendWindow,
  isDev,
  tupleOf,
  type Change,
  type Filter,
  type ListPage,
  type LiveWindow,
  type ResyncReason,
  type Resume,
  type SortTuple,
} from '@realtime/client';
import { LIVE_META, useRealtimeClient, type LiveFilter, type StreamPosition } from './index.js';
import { LIVE_QUERY_DEFAULTS, useLatest, useQueryWatch } from './cache-watch.js';

/** The cache of a live infinite query: the API's pages, `pageParams` the `after` each was read with. */
export type LiveInfiniteData<Row> = InfiniteData<ListPage<Row>, string | null>;

/**
 * A page as the hook keeps it: the API's, plus the end of its range (`end`: the sort tuple
 * of its last row as it was read, null on the last page) and, on the first page, the
 * stream position the rows are at (`position`), so that a persisted cache resumes from it.
 */
export type LiveInfinitePage<Row> = ListPage<Row> & { end?: SortTuple | null; position?: StreamPosition };

type Extras<Row> = Omit<
  UseInfiniteQueryOptions<ListPage<Row>, Error, LiveInfiniteData<Row>, QueryKey, string | null>,
  // The window needs every page from the first (no maxPages) and the pages as cached (no select).
  'queryKey' | 'queryFn' | 'enabled' | 'initialPageParam' | 'getNextPageParam' | 'getPreviousPageParam' | 'maxPages' | 'select'
>;

export interface LiveInfiniteQueryOptions<Row> {
  /** The channel (a table the gateway streams), e.g. 'extraction_jobs'. */
  channel: string;
  /** Must change with the filter. */
  queryKey: QueryKey;
  /** Equality on the row's fields: the same fields the pages are read with. */
  filter?: LiveFilter<Row>;
  /** Reads one keyset page (`after`: null for the first, else the previous page's `page.next`). */
  fetchPage: (p: { after: string | null; signal: AbortSignal }) => Promise<ListPage<Row>>;
  enabled?: boolean;
  /** After the hook's own response to a resync (back to the first page). */
  onResync?: (reason: ResyncReason) => void;
  /** Anything else for useInfiniteQuery (gcTime, retry, ...). */
  query?: Extras<Row>;
}

export type LiveInfiniteQueryResult<Row> = UseInfiniteQueryResult<LiveInfiniteData<Row>, Error> & {
  /** Every loaded row, in order: the same array until a batch changes a row. */
  rows: Row[];
  /** The exact size of the filtered set (loaded or not). */
  total: number | undefined;
};

const pageEnd = <Row,>(p: LiveInfinitePage<Row>, order: ListPage<Row>['page']['order'], before: SortTuple | null): SortTuple | null => {
  if (p.end !== undefined) return p.end;
  if (p.page.next === null) return null;
  const last = p.items.at(-1);
  return last === undefined ? before : tupleOf(last, order);
};

/** The window the cached pages make, and the end of each page's range. */
export function windowOfPages<Row>(data: LiveInfiniteData<Row>): { window: LiveWindow<Row>; ends: (SortTuple | null)[] } {
  const pages = data.pages as LiveInfinitePage<Row>[];
  const first = pages[0]!;
  const last = pages.at(-1)!;
  const order = first.page.order;
  const ends: (SortTuple | null)[] = [];
  for (const p of pages) ends.push(pageEnd(p, order, ends.at(-1) ?? null));
  const position = first.position;
  return {
    window: {
      items: pages.length === 1 ? first.items : pages.flatMap((p) => p.items),
      end: ends.at(-1)!,
      next: last.page.next,
      total: last.page.total,
      seq: position?.seq ?? 0,
      ...(position?.fp ? { fp: position.fp } : {}),
      cursor: first.cursor,
      snapshot: last.page.snapshot,
      order,
    },
    ends,
  };
}

const sameRows = <T,>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The window split into the cached pages again by their ends: a page whose rows did not
 * change keeps its object; the first page records the position, the last the total.
 */
export function splitIntoPages<Row>(data: LiveInfiniteData<Row>, w: LiveWindow<Row>, ends: (SortTuple | null)[]): LiveInfiniteData<Row> {
  const pages = data.pages as LiveInfinitePage<Row>[];
  const out: LiveInfinitePage<Row>[] = [];
  let at = 0;
  pages.forEach((p, i) => {
    const end = ends[i] ?? null;
    const lastPage = i === pages.length - 1;
    let stop = at;
    if (lastPage || end === null) stop = w.items.length;
    else while (stop < w.items.length && compareTuples(w.order, tupleOf(w.items[stop], w.order), end) <= 0) stop++;
    const rows = w.items.slice(at, stop);
    at = stop;
    let page: LiveInfinitePage<Row> = sameRows(rows, p.items) ? p : { ...p, items: rows };
    if (p.end !== end) page = { ...page, end };
    if (i === 0) {
      const position: StreamPosition = w.fp ? { seq: w.seq, fp: w.fp } : { seq: w.seq };
      if (w.seq > 0 && (p.position?.seq !== position.seq || p.position?.fp !== position.fp)) page = { ...page, position };
    }
    if (lastPage && (page.page.total !== w.total || page.page.snapshot !== w.snapshot)) page = { ...page, page: { ...page.page, total: w.total, snapshot: w.snapshot } };
    out.push(page);
  });
  return { pages: out, pageParams: data.pageParams };
}

const wireFilter = (filter: LiveFilter<unknown> | undefined): Filter | undefined => (filter && Object.keys(filter).length ? (filter as Filter) : undefined);
const hasPages = (d: unknown): d is LiveInfiniteData<unknown> => !!d && Array.isArray((d as { pages?: unknown }).pages) && (d as { pages: unknown[] }).pages.length > 0;

/**
 * A live window of any size on TanStack Query's infinite queries, typed on the row:
 * `fetchNextPage`/`hasNextPage` as TanStack's, `rows` (every loaded row, in order) and
 * `total` (the exact size of the filtered set). A persisted cache (livePersistOptions)
 * resumes from its recorded position without reading a page again.
 */
export function useLiveInfiniteQuery<Row>(opts: LiveInfiniteQueryOptions<Row>): LiveInfiniteQueryResult<Row> {
  const latest = useLatest(opts);
  const query = useInfiniteQuery<ListPage<Row>, Error, LiveInfiniteData<Row>, QueryKey, string | null>({
    // The first page is read again only on a resync or a refetch.
    ...LIVE_QUERY_DEFAULTS,
    ...opts.query,
    meta: { ...opts.query?.meta, [LIVE_META]: true },
    queryKey: opts.queryKey,
    queryFn: async ({ pageParam, signal }) => {
      const page = await latest.current.fetchPage({ after: pageParam, signal });
      const last = page.items.at(-1);
      const end = page.page.next === null || last === undefined ? null : tupleOf(last, page.page.order);
      return { ...page, end } as LiveInfinitePage<Row>;
    },
    initialPageParam: null,
    getNextPageParam: (last) => last.page.next,
    enabled: opts.enabled,
    // Any refetch reads the first page only and the window starts over from its cursor
    // (the option the query's infinite behavior reads; without it a refetch would read
    // every cached page again, each in its own snapshot).
    ...({ pages: 1 } as object),
  });
  useLiveWindow(opts);
  const data = query.data;
  const rowsRef = useRef<{ parts: Row[][]; rows: Row[] }>({ parts: [], rows: [] });
  const parts = data?.pages.map((p) => p.items) ?? [];
  if (!sameRows(parts, rowsRef.current.parts)) rowsRef.current = { parts, rows: parts.length === 1 ? parts[0]! : parts.flat() };
  return Object.assign(query, { rows: rowsRef.current.rows, total: data?.pages.at(-1)?.page.total });
}

/** Keeps the pages cached under `queryKey` live: subscribes with the first page's cursor, one setQueryData per batch. */
function useLiveWindow<Row>(opts: LiveInfiniteQueryOptions<Row>): void {
  const client = useRealtimeClient();
  const qc = useQueryClient();
  const latest = useRef(opts);
  useLayoutEffect(() => {
    latest.current = opts;
  });
  const hash = hashKey(opts.queryKey);
  const watch = useQueryWatch(qc, hash);
  // The first page's cursor: a new one (the pages were read again) starts the subscription over.
  const cursor = useSyncExternalStore(watch, () => {
    const data = qc.getQueryCache().get(hash)?.state.data;
    return hasPages(data) ? ((data.pages[0] as ListPage<unknown>).cursor ?? '') : '';
  });
  const filterKey = JSON.stringify(opts.filter ?? {});
  useEffect(() => {
    if (opts.enabled === false || !cursor) return;
    const key = latest.current.queryKey;
    const query = qc.getQueryCache().get(hash);
    const recorded = hasPages(query?.state.data) ? (query.state.data.pages[0] as LiveInfinitePage<unknown>).position : undefined;
    let position = recorded && recorded.seq > 0 ? recorded.seq : 0;
    let fp = recorded && recorded.seq > 0 ? recorded.fp : undefined;
    // The changes received since the next page's request was sent: held back from the
    // cache (TanStack appends the page to the pages as they were when it started) and
    // applied again across the seam when the page lands.
    let pending: Change[] | null = null;
    // How many pages there were when the next one was asked for.
    let pagesBefore = 0;

    const write = (events: readonly Change[]) => {
      qc.setQueryData<LiveInfiniteData<Row>>(key, (old) => {
        if (!hasPages(old)) return old;
        const { window: w, ends } = windowOfPages(old);
        const next = applyToWindow(w, events);
        return next === w ? old : splitIntoPages(old, next, ends);
      });
    };
    const flush = () => {
      const again = pending;
      pending = null;
      if (again?.length) write(again);
    };
    const merge = (data: LiveInfiniteData<Row>) => {
      // No page came (there was none after the last): the held changes go in as they are.
      if (!hasPages(data) || data.pages.length !== pagesBefore + 1 || pagesBefore === 0) return flush();
      const buffered = pending ?? [];
      pending = null;
      const { window: w, ends } = windowOfPages<Row>({ pages: data.pages.slice(0, -1), pageParams: data.pageParams.slice(0, -1) });
      const extended = extendWindow(w, data.pages.at(-1)!, buffered);
      qc.setQueryData<LiveInfiniteData<Row>>(key, splitIntoPages(data, extended, [...ends, extended.end]));
    };

    // After a resync, the subscription is over: the first page read again starts a new
    // one (here when its cursor is the same string; a new cursor re-runs this effect).
    let resynced = false;
    const unwatch = qc.getQueryCache().subscribe((e) => {
      if (e.query.queryHash !== hash || e.type !== 'updated') return;
      const a = e.action;
      if (resynced && a.type === 'success' && !a.manual) {
        resynced = false;
        const data = e.query.state.data;
        if (hasPages(data) && (data.pages[0] as ListPage<unknown>).cursor === cursor) {
          unsub();
          position = 0;
          fp = undefined;
          follow();
        }
        return;
      }
      if (a.type === 'fetch') {
        const meta = a.meta as { fetchMore?: { direction?: string } } | undefined;
        if (meta?.fetchMore?.direction === 'forward') {
          if (!pending) pagesBefore = hasPages(e.query.state.data) ? e.query.state.data.pages.length : 0;
          pending ??= [];
        }
        // Every page read again: whatever was held back goes to the pages it replaces.
        else flush();
      } else if (a.type === 'success' && !a.manual) {
        if (pending) merge(e.query.state.data as LiveInfiniteData<Row>);
      } else if (pending && e.query.state.fetchStatus === 'idle') flush();
    });

    const resume = (): Resume => (position ? { cursor, since: position, ...(fp ? { fp } : {}) } : { cursor });
    let unsub = () => {};
    const follow = () => {
      unsub = client.subscribe(
        { channel: latest.current.channel, filter: wireFilter(latest.current.filter as LiveFilter<unknown>), resume },
        {
          onChanges: (events) => {
            const last = events.at(-1);
            if (last && last.seq > position) {
              position = last.seq;
              fp = last.fp;
            }
            if (pending) pending.push(...events);
            else write(events);
          },
          onResync: (reason) => {
            // Back to the first page: its snapshot and cursor start the window over.
            pending = null;
            resynced = true;
            qc.setQueryData<LiveInfiniteData<Row>>(key, (old) => (hasPages(old) ? { pages: old.pages.slice(0, 1), pageParams: old.pageParams.slice(0, 1) } : old));
            void qc.invalidateQueries({ queryKey: key, exact: true });
            latest.current.onResync?.(reason);
          },
          onError: (message) => {
            if (isDev()) console.warn(`@realtime/react: the subscription to ${latest.current.channel} was refused: ${message}`);
          },
        },
      );
    };
    follow();
    return () => {
      unwatch();
      unsub();
    };
  }, [client, qc, hash, cursor, filterKey, opts.channel, opts.enabled]);
}
