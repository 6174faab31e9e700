// The app's live data, on @realtime/react as any app would use it: the realtime token
// from the session, the socket's URL, and the live lists of the pages: short ones read
// whole (useLiveQuery), long ones as windows that grow a keyset page at a time
// (useLiveInfiniteQuery), keyed by qk so that pages and hooks name the same caches.
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { newestFirst, useLiveInfiniteQuery, useLiveQuery, useLiveSubscription, type LiveFilter } from '@realtime/react';
import type { ListPage, TokenLike } from '@realtime/client';
import { api, isApiError, type Resource, type Row } from './api';
import { RESOURCE_META, meQuery, qk } from './qk';
import { PERSIST_MAX_AGE } from './persist';
import { useOptionalWriteQueue } from './writes';
import type { Project } from './rows';

/** VITE_WS_URL points the socket elsewhere when it is not on the page's own origin. */
export const wsUrl = (): string => (import.meta.env.VITE_WS_URL as string | undefined) || window.location.origin;

/** The session's realtime token; a 401 means signed out (api.ts has told the app already). */
export const fetchToken = (): Promise<TokenLike | null> => api.token().catch((e: unknown) => (isApiError(e, 401) ? null : Promise.reject(e)));

export interface RealtimeSubscriptionOptions {
  channel: string;
  filter?: LiveFilter<Row>;
  queryKey: QueryKey;
  compare?: (a: Row, b: Row) => number;
  enabled?: boolean;
}

/**
 * Keeps the API list cached under `queryKey` live (see useLiveSubscription); a resync
 * about membership also refetches `me`, whose roles changed with it.
 */
export function useRealtimeSubscription(opts: RealtimeSubscriptionOptions): void {
  const qc = useQueryClient();
  useLiveSubscription<Row, ListPage<Row>>({
    ...opts,
    onResync: (reason) => {
      if (reason === 'membership') void qc.invalidateQueries({ queryKey: meQuery.queryKey });
    },
  });
}

/** A list from the API kept live by the stream; caught up by replay after an outage, polled only after 2 minutes of failed attempts. */
export function useLiveList<T extends Row>(resource: Resource, channel: string, queryKey: QueryKey, params: Record<string, string>, options: { filter?: LiveFilter<T>; compare?: (a: T, b: T) => number; enabled?: boolean } = {}) {
  const qc = useQueryClient();
  const writes = useOptionalWriteQueue();
  return useLiveQuery<T, ListPage<T>>({
    channel,
    queryKey,
    queryFn: async () => {
      const asked = Date.now();
      const list = await api.list<T>(resource, params);
      // A list read after a write's answer holds it: a write the stream will not bring
      // again (its change is below this list's cursor) is confirmed by the list.
      writes?.confirmThrough(asked, resource);
      return list;
    },
    filter: options.filter,
    compare: options.compare ?? newestFirst,
    enabled: options.enabled,
    // Kept (and so persisted) as long as a persisted state may be used.
    query: { gcTime: PERSIST_MAX_AGE, meta: { [RESOURCE_META]: resource } },
    onResync: (reason) => {
      if (reason === 'membership') void qc.invalidateQueries({ queryKey: meQuery.queryKey });
    },
  });
}

export const useProjectsLive = () => useLiveList<Project>('projects', 'projects', qk.projects.list(), {}, { compare: newestFirst });

/**
 * A list of any size as a live window: the first page, then one more keyset page each
 * time `fetchNextPage` is called; `rows` every row loaded, `total` the size of the whole
 * filtered set. `filter` goes both to the API and to the stream, and is in `queryKey`.
 */
export function useLiveWindow<T extends Row>(resource: Resource, channel: string, queryKey: QueryKey, filter: Record<string, string | undefined>, options: { orderBy?: string; enabled?: boolean } = {}) {
  const writes = useOptionalWriteQueue();
  const streamFilter = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as LiveFilter<T>;
  return useLiveInfiniteQuery<T>({
    channel,
    queryKey,
    filter: streamFilter,
    fetchPage: async ({ after, signal }) => {
      const asked = Date.now();
      const page = await api.page<T>(resource, { filter, after, orderBy: options.orderBy, signal });
      // The first page sets the stream's cursor: a write answered before it was read is
      // in it, and the stream will not bring that write again. Later pages are read
      // after the cursor and leave that to the stream.
      if (after === null) writes?.confirmThrough(asked, resource);
      return page;
    },
    enabled: options.enabled,
    // Kept (and so persisted) as long as a persisted state may be used.
    query: { gcTime: PERSIST_MAX_AGE, meta: { [RESOURCE_META]: resource } },
  });
}
