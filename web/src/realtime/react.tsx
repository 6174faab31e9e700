// React on top of the realtime client: one connection per signed-in app (the provider),
// the connection state, and live lists whose TanStack Query caches follow the stream.
import { createContext, useCallback, useContext, useEffect, useLayoutEffect, useMemo, useRef, useSyncExternalStore, type ReactNode } from 'react';
import { hashKey, notifyManager, useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { io } from 'socket.io-client';
import { WS_PATH, type Filter } from '@realtime/protocol';
import { api, isApiError, type ListData, type Resource } from '../api';
import { meQuery, qk } from '../qk';
import { RealtimeClient, type ConnectionState, type RealtimeToken, type Resume } from './client';
import { newestFirst, reduce, type Handlers, type Row } from './reducer';

const Ctx = createContext<RealtimeClient | null>(null);

/** VITE_WS_URL points the socket elsewhere when it is not on the page's own origin. */
const wsUrl = (): string => (import.meta.env.VITE_WS_URL as string | undefined) || window.location.origin;

/** The session's realtime token; a 401 means signed out (api.ts has told the app already). */
const fetchToken = (): Promise<RealtimeToken | null> =>
  api.token().then(
    ({ token, expiresAt }) => ({ token, expiresAt: Date.parse(expiresAt) }),
    (e: unknown) => (isApiError(e, 401) ? null : Promise.reject(e)),
  );

/** Mount it only while signed in: its socket connects with the session's token. */
export function RealtimeProvider({ children, client: given }: { children: ReactNode; client?: RealtimeClient }) {
  const client = useMemo(() => {
    if (given) return given;
    const socket = io(wsUrl(), {
      path: WS_PATH,
      transports: ['websocket'],
      autoConnect: false,
      // The client reconnects with its own backoff and resumes every subscription.
      reconnection: false,
    });
    return new RealtimeClient(socket, { tokens: fetchToken });
  }, [given]);
  useEffect(() => {
    client.start();
    return () => client.stop();
  }, [client]);
  return <Ctx.Provider value={client}>{children}</Ctx.Provider>;
}

export function useRealtimeClient(): RealtimeClient {
  const c = useContext(Ctx);
  if (!c) throw new Error('useRealtimeClient needs a <RealtimeProvider> above it');
  return c;
}

export function useConnection(): ConnectionState {
  const client = useRealtimeClient();
  const subscribe = useCallback((onChange: () => void) => client.onState(onChange), [client]);
  return useSyncExternalStore(subscribe, () => client.connection);
}

/** The cursor of the list cached under `queryKey`, followed through the query cache. */
function useCachedCursor(queryKey: QueryKey): string | undefined {
  const qc = useQueryClient();
  const hash = hashKey(queryKey);
  const subscribe = useCallback(
    (onChange: () => void) => {
      // Scheduled like TanStack's own observers: the cache also reports queries that a
      // render creates, and a component must not be told to update during a render.
      const notify = notifyManager.batchCalls(onChange);
      return qc.getQueryCache().subscribe((e) => {
        if (e.query.queryHash === hash) notify();
      });
    },
    [qc, hash],
  );
  return useSyncExternalStore(subscribe, () => qc.getQueryCache().get<ListData>(hash)?.state.data?.cursor);
}

export interface RealtimeSubscriptionOptions {
  channel: string;
  filter?: Filter;
  queryKey: QueryKey;
  compare?: (a: Row, b: Row) => number;
  handlers?: Handlers;
  enabled?: boolean;
}

/**
 * Keeps the list cached under `queryKey` live: subscribes with the list's cursor, applies
 * changes through the reducer, resumes from the last seq after a reconnect, starts over
 * with the new cursor after a refetch, refetches on resync (and `me` when the resync is
 * about membership), unsubscribes on unmount.
 */
export function useRealtimeSubscription(opts: RealtimeSubscriptionOptions): void {
  const client = useRealtimeClient();
  const qc = useQueryClient();
  const cursor = useCachedCursor(opts.queryKey);
  // The handlers read the latest options without resubscribing when only they change.
  const latest = useRef(opts);
  useLayoutEffect(() => {
    latest.current = opts;
  });
  const filterKey = JSON.stringify(opts.filter ?? {});
  const keyText = JSON.stringify(opts.queryKey);
  useEffect(() => {
    if (opts.enabled === false || !cursor) return;
    const key = latest.current.queryKey;
    const resume = (): Resume => {
      const data = qc.getQueryData<ListData>(key);
      if (!data) return {};
      // The cursor stays: its snapshot still tells which changes the list had.
      return data.seq ? { since: data.seq, cursor: data.cursor } : { cursor: data.cursor };
    };
    return client.subscribe(
      { channel: latest.current.channel, filter: latest.current.filter, resume },
      {
        onChanges: (events) =>
          qc.setQueryData<ListData>(key, (old) => {
            if (!old) return old;
            const next = reduce({ items: old.items, seq: old.seq ?? 0 }, events, { compare: latest.current.compare, handlers: latest.current.handlers });
            return next.seq === (old.seq ?? 0) ? old : { ...old, items: next.items, seq: next.seq };
          }),
        onResync: (reason) => {
          void qc.invalidateQueries({ queryKey: key });
          // The user gained or lost a project: their roles changed with it.
          if (reason === 'membership') void qc.invalidateQueries({ queryKey: meQuery.queryKey });
        },
        onError: (message) => {
          if (import.meta.env.DEV) console.warn(`realtime subscription to ${latest.current.channel} refused: ${message}`);
        },
      },
    );
    // A new cursor (the list was refetched) starts the subscription over from it.
  }, [client, qc, cursor, filterKey, keyText, opts.enabled]);
}

/** A list from the API kept live by the stream; it polls while the socket is down. */
export function useLiveList<T extends Row>(resource: Resource, channel: string, queryKey: QueryKey, params: Record<string, string>, options: { filter?: Filter; compare?: (a: Row, b: Row) => number; enabled?: boolean } = {}) {
  const connection = useConnection();
  const offline = connection.status === 'offline';
  const query = useQuery({
    queryKey,
    queryFn: () => api.list<T>(resource, params),
    enabled: options.enabled,
    refetchOnWindowFocus: false,
    refetchInterval: offline ? 5000 : false,
  });
  useRealtimeSubscription({ channel, queryKey, filter: options.filter, compare: options.compare ?? newestFirst, enabled: options.enabled });
  return query;
}

export const useProjectsLive = () => useLiveList('projects', 'projects', qk.projects.list(), {}, { compare: newestFirst });

export const useExtractionJobsLive = (projectId: string) =>
  useLiveList('extraction-jobs', 'extraction_jobs', qk.extraction.jobs(projectId), { projectId }, { filter: { project_id: projectId } });
