// useLiveInfiniteQuery: a list read page by page (keyset pages, `after` = the previous
// page's `next`), as TanStack's infinite queries. This version reads the pages only; the
// stream is not followed yet.
import { useMemo } from 'react';
import { useInfiniteQuery, type InfiniteData, type QueryKey, type UseInfiniteQueryOptions, type UseInfiniteQueryResult } from '@tanstack/react-query';
import type { ListPage } from '@realtime/client';
import type { LiveFilter } from './index';

type Page<Row> = ListPage<Row>;
type Data<Row> = InfiniteData<Page<Row>, string | null>;

export interface LiveInfiniteQueryOptions<Row> {
  /** The channel (a table the gateway streams), e.g. 'extraction_jobs'. */
  channel: string;
  /** Must change with the filter. */
  queryKey: QueryKey;
  /** Equality on the rows' fields: the same fields the fetch filters by. */
  filter?: LiveFilter<Row>;
  fetchPage: (p: { after: string | null; signal: AbortSignal }) => Promise<ListPage<Row>>;
  enabled?: boolean;
  query?: Omit<UseInfiniteQueryOptions<Page<Row>, Error, Data<Row>, QueryKey, string | null>, 'queryKey' | 'queryFn' | 'enabled' | 'initialPageParam' | 'getNextPageParam'>;
}

export type LiveInfiniteQueryResult<Row> = UseInfiniteQueryResult<Data<Row>, Error> & {
  /** Every loaded row, in order. */
  rows: Row[];
  /** The exact size of the filtered set. */
  total: number | undefined;
};

export function useLiveInfiniteQuery<Row>(opts: LiveInfiniteQueryOptions<Row>): LiveInfiniteQueryResult<Row> {
  const result = useInfiniteQuery<Page<Row>, Error, Data<Row>, QueryKey, string | null>({
    ...opts.query,
    queryKey: opts.queryKey,
    queryFn: ({ pageParam, signal }) => opts.fetchPage({ after: pageParam, signal }),
    initialPageParam: null,
    getNextPageParam: (last) => last.page.next,
    enabled: opts.enabled,
  });
  const pages = result.data?.pages;
  const rows = useMemo(() => (pages ?? []).flatMap((p) => p.items), [pages]);
  const total = pages?.[0]?.page.total;
  return Object.assign(result, { rows, total });
}
