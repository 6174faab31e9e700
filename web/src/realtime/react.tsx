// React on top of the realtime client: one connection per app (the provider), the
// connection state, and live lists whose TanStack Query caches follow the stream.
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { io } from 'socket.io-client';
import { WS_PATH, type Filter } from '@realtime/protocol';
import { api, type ListData, type Resource } from '../api';
import { qk } from '../qk';
import { RealtimeClient, type ConnectionState, type Resume } from './client';
import { newestFirst, reduce, type Handlers, type Row } from './reducer';

const Ctx = createContext<RealtimeClient | null>(null);

/** VITE_WS_URL points the socket elsewhere when it is not on the page's own origin. */
const wsUrl = (): string => (import.meta.env.VITE_WS_URL as string | undefined) || window.location.origin;

export function RealtimeProvider({ children, client: given }: { children: ReactNode; client?: RealtimeClient }) {
  const client = useMemo(() => {
    if (given) return given;
    const socket = io(wsUrl(), {
      path: WS_PATH,
      transports: ['websocket'],
      autoConnect: false,
      // The client reconnects with its own backoff and resumes every subscription.
      reconnection: false,
      auth: (cb) => {
        api.token().then(
          ({ token }) => cb({ token }),
          () => cb({ token: '' }),
        );
      },
    });
    return new RealtimeClient(socket);
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
  const [state, setState] = useState(client.connection);
  useEffect(() => client.onState(setState), [client]);
  return state;
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
 * with the new cursor after a refetch, refetches on resync, unsubscribes on unmount.
 */
export function useRealtimeSubscription(opts: RealtimeSubscriptionOptions): void {
  const client = useRealtimeClient();
  const qc = useQueryClient();
  const cursor = qc.getQueryData<ListData>(opts.queryKey)?.cursor;
  const latest = useRef(opts);
  latest.current = opts;
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
        onResync: () => void qc.invalidateQueries({ queryKey: key }),
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
