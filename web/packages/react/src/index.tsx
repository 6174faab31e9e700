// React on top of @realtime/client: one connection per signed-in app (the provider), the
// connection state, and TanStack Query caches that follow the stream (useLiveQuery, and
// useLiveSubscription for a cache filled elsewhere; useLiveInfiniteQuery, in infinite.tsx,
// for a list of any size).
import { createContext, useCallback, useContext, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { hashKey, useQuery, useQueryClient, type QueryClient, type QueryFunction, type QueryKey, type UseQueryOptions, type UseQueryResult } from '@tanstack/react-query';
import {
  createRealtime,
  isDev,
  reduce,
  type ApiRow,
  type Change,
  type ConnectionState,
  type CreateRealtimeOptions,
  type Filter,
  type Handlers,
  type ListPage,
  type RealtimeClient,
  type ResyncReason,
  type Resume,
} from '@realtime/client';
import { LIVE_QUERY_DEFAULTS, useLatest, useQueryWatch } from './cache-watch.js';

const Ctx = createContext<RealtimeClient | null>(null);

export type RealtimeProviderProps = { children?: ReactNode } & (
  | { client: RealtimeClient; url?: never; getToken?: never }
  | { client?: never; url: string; getToken: CreateRealtimeOptions['getToken'] }
);

/**
 * Mount it only while signed in: its socket connects with the user's token. Given a
 * client, it starts and stops that one; given url and getToken, it makes one (a new one
 * when the url changes; give it a `key` per user so that nothing is carried over).
 */
export function RealtimeProvider(props: RealtimeProviderProps) {
  const { client: given, url, getToken } = props;
  const tokens = useRef(getToken);
  useLayoutEffect(() => {
    tokens.current = getToken;
  });
  const client = useMemo(() => given ?? createRealtime({ url: url!, getToken: () => tokens.current!() }), [given, url]);
  useEffect(() => {
    client.start();
    return () => client.stop();
  }, [client]);
  return <Ctx.Provider value={client}>{props.children}</Ctx.Provider>;
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

/**
 * A row type as it arrives over the wire, from one whose timestamps are Dates and whose
 * int8 columns are bigints (drizzle's `$inferSelect` in its default modes): those arrive
 * as strings. `useLiveQuery<Wire<typeof projects.$inferSelect>>`.
 */
export type Wire<T> = { [K in keyof T]: WireValue<T[K]> };
type WireValue<V> = V extends Date ? string : V extends bigint ? string : V;

/** A filter value as the protocol carries it. */
export type FilterValue = string | number | boolean | null;
/** Equality on the rows' own field names (camelCase, as the rows arrive), e.g. `{ projectId }`. */
export type LiveFilter<Row> = { [K in keyof Row & string]?: FilterValue };

/**
 * How the hooks read and write the rows of a cached query. Arrays and `{ items, cursor? }`
 * are known without one; anything else needs it.
 */
export interface ListAdapter<Row, TData> {
  toRows(data: TData): readonly Row[];
  fromRows(data: TData, rows: Row[]): TData;
  /** The stream cursor the list was read with (the API's `cursor`), if it has one: the subscription then resumes from exactly that snapshot. */
  cursorOf?(data: TData): string | undefined | null;
  /**
   * The stream position the cached rows are at (the last change applied), kept in the data
   * itself so that a persisted cache resumes from it after a reload. With `withPosition`.
   */
  positionOf?(data: TData): StreamPosition | undefined | null;
  /** The data with `position` recorded (called once per applied batch). */
  withPosition?(data: TData, position: StreamPosition): TData;
}

/** A position in the stream: the seq of the last change applied and that change's fingerprint. */
export interface StreamPosition {
  seq: number;
  fp?: string;
}

/**
 * A list as the hooks keep it: the API's answer (`ListPage`: `{ items, cursor, page }`;
 * only `items` is required here) and, written by the hooks, not by the API, the
 * position the rows are at once changes have been applied on top of the snapshot at
 * `cursor`. A list restored with it (a persisted cache, after a reload) resumes from
 * there instead of being read again.
 */
export type LivePage<Row> = Pick<ListPage<Row>, 'items'> & Partial<Omit<ListPage<Row>, 'items'>> & { position?: StreamPosition };

export const arrayAdapter: ListAdapter<unknown, readonly unknown[]> = {
  toRows: (data) => data,
  fromRows: (_data, rows) => rows,
};

export const pageAdapter: ListAdapter<unknown, LivePage<unknown>> = {
  toRows: (data) => data.items,
  fromRows: (data, rows) => ({ ...data, items: rows }),
  cursorOf: (data) => data.cursor,
  positionOf: (data) => data.position,
  withPosition: (data, position) => ({ ...data, position }),
};

const validPosition = (p: StreamPosition | undefined | null): p is StreamPosition => !!p && typeof p.seq === 'number' && p.seq > 0;

function adapterFor(data: unknown, given: ListAdapter<never, never> | undefined): ListAdapter<unknown, unknown> | null {
  if (given) return given as unknown as ListAdapter<unknown, unknown>;
  if (Array.isArray(data)) return arrayAdapter as ListAdapter<unknown, unknown>;
  if (data !== null && typeof data === 'object' && Array.isArray((data as { items?: unknown }).items)) return pageAdapter as ListAdapter<unknown, unknown>;
  return null;
}

export interface LiveSubscriptionOptions<Row, TData = unknown> {
  /** The channel (a table the gateway streams), e.g. 'projects'. */
  channel: string;
  queryKey: QueryKey;
  filter?: LiveFilter<Row>;
  /** Keeps the list in this order after every batch (e.g. newestFirst). */
  compare?: (a: Row, b: Row) => number;
  enabled?: boolean;
  /** For a cached shape other than an array or `{ items, cursor? }`. */
  adapter?: ListAdapter<Row, TData>;
  /** The row's key (default: its `id`). */
  key?: (row: Row) => string;
  /** Wire row to cached row (e.g. ISO strings to Dates); the queryFn's rows must already be in that shape. */
  parse?: (row: ApiRow) => Row;
  /** Replace the built-in handling of an op. */
  handlers?: Handlers<Row>;
  /** After the hook's own response to a resync (a refetch), e.g. to refetch what else it made stale. */
  onResync?: (reason: ResyncReason) => void;
}

/** Field names go as they are: the gateway maps them to its columns. */
const wireFilter = (filter: LiveFilter<unknown> | undefined): Filter | undefined => (filter && Object.keys(filter).length ? (filter as Filter) : undefined);

/**
 * Each subscription's last position by cache, with the data it holds then: a remount over
 * the same cached data resumes from there instead of replaying from the list's cursor.
 */
const positions = new WeakMap<QueryClient, Map<string, { data: unknown; seq: number }>>();
const positionsOf = (qc: QueryClient) => {
  let m = positions.get(qc);
  if (!m) positions.set(qc, (m = new Map()));
  return m;
};

/** A list the API cut at its page size: more rows exist than it holds (`page.next`). */
const isCut = (data: unknown): boolean => typeof (data as { page?: { next?: unknown } } | null | undefined)?.page?.next === 'string';

const warnedCut = new Set<string>();
function warnCut(hash: string, key: QueryKey, channel: string): void {
  if (warnedCut.has(hash)) return;
  warnedCut.add(hash);
  console.warn(
    `@realtime/react: the list cached under ${JSON.stringify(key)} (${channel}) was cut at its page size (page.next is set): its rows are the first page only, and changes to rows beyond it are ignored. ` +
      'Use useLiveInfiniteQuery for a list every row of which must be reachable, or ask for a larger limit.',
  );
}

/** What the cache holds: no data yet, a shape no adapter reads, a list without a cursor, or a list with one. */
type CacheMode = { kind: 'none' } | { kind: 'unusable' } | { kind: 'plain' } | { kind: 'cursor'; cursor: string };
const parseMode = (t: string): CacheMode => (t.startsWith('cursor:') ? { kind: 'cursor', cursor: t.slice(7) } : { kind: t as 'none' | 'unusable' | 'plain' });

/**
 * Keeps the list cached under `queryKey` live. A list with a cursor: subscribes with it
 * (the gateway sends exactly what the snapshot lacks), starts over when a refetch brings a
 * new cursor. A list without one (a plain array): subscribes from now, then refetches once,
 * and re-applies on top of any refetch's result the changes that arrived while it was in
 * flight. Either way: one setQueryData per delivered batch, resumes from the last seq
 * after a reconnect, refetches on resync, unsubscribes on unmount.
 */
export function useLiveSubscription<Row, TData = unknown>(opts: LiveSubscriptionOptions<Row, TData>): void {
  const client = useRealtimeClient();
  const qc = useQueryClient();
  const latest = useLatest(opts);
  const hash = hashKey(opts.queryKey);
  const subscribe = useQueryWatch(qc, hash);
  const modeKey = useSyncExternalStore(subscribe, () => {
    const data = qc.getQueryCache().get(hash)?.state.data;
    if (data === undefined) return 'none';
    const adapter = adapterFor(data, latest.current.adapter as ListAdapter<never, never> | undefined);
    if (!adapter) return 'unusable';
    const cursor = adapter.cursorOf?.(data);
    return typeof cursor === 'string' && cursor ? `cursor:${cursor}` : 'plain';
  });
  const filterKey = JSON.stringify(opts.filter ?? {});
  useEffect(() => {
    const mode = parseMode(modeKey);
    if (opts.enabled === false || mode.kind === 'none') return;
    const key = latest.current.queryKey;
    const { channel } = latest.current;
    if (mode.kind === 'unusable') {
      if (isDev()) {
        console.error(
          `@realtime/react: the data cached under ${JSON.stringify(key)} is neither an array of rows nor { items, cursor? }, so ${channel} is not subscribed. ` +
            'Give the hook an `adapter: { toRows, fromRows, cursorOf }` that reads and writes its rows.',
        );
      }
      return;
    }
    if (isDev() && isCut(qc.getQueryData(key))) warnCut(hash, key, channel);
    const store = positionsOf(qc);
    const read = (data: unknown) => adapterFor(data, latest.current.adapter as ListAdapter<never, never> | undefined);
    const saved = store.get(hash);
    const current = qc.getQueryData(key);
    // The position recorded in the data itself (a list restored from a persisted cache, or
    // remounted over data this hook wrote): resume from it, with its fingerprint.
    const recorded = mode.kind === 'cursor' ? read(current)?.positionOf?.(current) : undefined;
    let position = validPosition(recorded) ? recorded.seq : mode.kind === 'cursor' && saved && saved.data === current ? saved.seq : 0;
    let fp: string | undefined = validPosition(recorded) ? recorded.fp : undefined;
    // Plain lists: the changes that came while a fetch of the list was in flight.
    let buffer: Change[] | null = null;
    let closed = false;

    const write = (events: readonly Change[], from: number) => {
      let stored: unknown;
      qc.setQueryData(key, (old: unknown) => {
        if (old === undefined) return old;
        const adapter = read(old);
        if (!adapter) return old;
        const o = latest.current;
        const cut = isCut(old);
        const next = reduce<Row>({ items: adapter.toRows(old) as Row[], seq: from }, events, { compare: o.compare, handlers: o.handlers, key: o.key, parse: o.parse, cut });
        if (next.seq === from) return (stored = old);
        const rows = adapter.fromRows(old, next.items);
        const last = events.findLast((e) => e.seq === next.seq);
        stored = adapter.withPosition ? adapter.withPosition(rows, { seq: next.seq, ...(last?.fp ? { fp: last.fp } : {}) }) : rows;
        return stored;
      });
      if (stored !== undefined) store.set(hash, { data: qc.getQueryData(key), seq: position });
    };

    const resume = (): Resume => {
      if (mode.kind === 'cursor') return position ? { since: position, cursor: mode.cursor, ...(fp ? { fp } : {}) } : { cursor: mode.cursor };
      return position ? { since: position } : {};
    };

    // A refetch of a plain list: what came while it was in flight goes again on top of its result.
    const unwatch =
      mode.kind === 'plain'
        ? qc.getQueryCache().subscribe((e) => {
            if (e.query.queryHash !== hash || e.type !== 'updated') return;
            const a = e.action;
            if (a.type === 'fetch') buffer ??= [];
            else if (a.type === 'success' && !a.manual && buffer) {
              const again = buffer;
              buffer = null;
              if (again.length) queueMicrotask(() => !closed && write(again, 0));
            } else if (a.type === 'error') buffer = null;
          })
        : () => undefined;

    let unsub = () => {};
    const start = () => {
      unsub = client.subscribe(
        { channel, filter: wireFilter(latest.current.filter as LiveFilter<unknown>), resume },
        {
          onSubscribed: (headSeq) => {
            if (mode.kind !== 'plain' || position !== 0) return;
            // A plain list says nothing of the snapshot it was read from: read it again now
            // that the stream covers everything after headSeq.
            position = headSeq;
            buffer ??= [];
            void qc.refetchQueries({ queryKey: key, exact: true });
          },
          onChanges: (events) => {
            const from = position;
            const last = events.at(-1);
            if (last && last.seq > position) {
              position = last.seq;
              fp = last.fp;
            }
            buffer?.push(...events);
            write(events, from);
          },
          onResync: (reason) => {
            if (mode.kind === 'plain') {
              // Start over: from now, with a fresh read after the ack.
              unsub();
              position = 0;
              fp = undefined;
              buffer = null;
              start();
            } else void qc.invalidateQueries({ queryKey: key, exact: true });
            latest.current.onResync?.(reason);
          },
          onError: (message) => {
            if (isDev()) console.warn(`@realtime/react: the subscription to ${channel} was refused: ${message}`);
          },
        },
      );
    };
    start();
    return () => {
      closed = true;
      unwatch();
      unsub();
    };
    // A new cursor (the list was refetched) starts the subscription over from it.
  }, [client, qc, hash, modeKey, filterKey, opts.channel, opts.enabled]);
}

type QueryExtras<TData> = Omit<UseQueryOptions<TData, Error, TData, QueryKey>, 'queryKey' | 'queryFn' | 'enabled'>;

/**
 * The list's slow poll while the socket cannot connect: only after `afterMs` of failed
 * attempts (default 120000), then every `everyMs` (default 60000).
 */
export interface OfflinePoll {
  afterMs?: number;
  everyMs?: number;
}

export const DEFAULT_OFFLINE_POLL: Required<OfflinePoll> = { afterMs: 120_000, everyMs: 60_000 };

/** Offline for at least `afterMs` since `since` (the client's offlineSince); false while connected. */
function useOfflineFor(since: number | null, afterMs: number): boolean {
  const [reached, setReached] = useState<number | null>(null);
  useEffect(() => {
    if (since === null) return;
    const left = since + afterMs - Date.now();
    if (left <= 0) return setReached(since);
    const t = setTimeout(() => setReached(since), left);
    return () => clearTimeout(t);
  }, [since, afterMs]);
  return since !== null && reached === since;
}

export interface LiveQueryOptions<Row, TData> extends LiveSubscriptionOptions<Row, TData> {
  queryFn: QueryFunction<TData, QueryKey>;
  /**
   * While the socket is merely down nothing is polled: the stream's replay catches the
   * list up when it returns. Only after it has failed to connect for `afterMs` (2 min)
   * is the list read again, every `everyMs` (1 min). A number is `everyMs`; false: never.
   */
  pollWhileOffline?: OfflinePoll | number | false;
  /** Anything else for useQuery (staleTime, retry, ...). */
  query?: QueryExtras<TData>;
}

/**
 * A query kept live by the stream: useQuery with `queryFn`, plus useLiveSubscription on
 * its cache. The Row type is the streamed row's: camelCase keys, timestamps as ISO
 * strings, int8 and numeric as strings (see the README for Date-typed schemas).
 */
export function useLiveQuery<Row, TData extends readonly Row[] = Row[]>(opts: LiveQueryOptions<Row, TData> & { adapter?: undefined }): UseQueryResult<TData, Error>;
export function useLiveQuery<Row, TData extends LivePage<Row> = ListPage<Row>>(opts: LiveQueryOptions<Row, TData> & { adapter?: undefined }): UseQueryResult<TData, Error>;
export function useLiveQuery<Row, TData>(opts: LiveQueryOptions<Row, TData> & { adapter: ListAdapter<Row, TData> }): UseQueryResult<TData, Error>;
export function useLiveQuery<Row, TData>(opts: LiveQueryOptions<Row, TData>): UseQueryResult<TData, Error> {
  const connection = useConnection();
  const given = opts.pollWhileOffline;
  const poll = given === false ? null : { ...DEFAULT_OFFLINE_POLL, ...(typeof given === 'number' ? { everyMs: given } : given) };
  const longOffline = useOfflineFor(connection.status === 'offline' ? connection.offlineSince : null, poll?.afterMs ?? 0);
  const query = useQuery<TData, Error, TData, QueryKey>({
    // Read again only on a resync (which invalidates it) or by the offline poll. A list
    // restored from a persisted cache resumes from its recorded position instead.
    ...LIVE_QUERY_DEFAULTS,
    ...opts.query,
    // The marker that livePersistOptions persists by.
    meta: { ...opts.query?.meta, [LIVE_META]: true },
    queryKey: opts.queryKey,
    queryFn: opts.queryFn,
    enabled: opts.enabled,
    refetchInterval: poll && longOffline ? poll.everyMs : (opts.query?.refetchInterval ?? false),
  });
  useLiveSubscription(opts);
  return query;
}

/** The `meta` field useLiveQuery sets on its queries: what livePersistOptions persists. */
export const LIVE_META = 'realtimeLive';

/** How long a persisted cache of live lists is used at most: 7 days. */
export const DEFAULT_PERSIST_MAX_AGE = 7 * 24 * 60 * 60 * 1000;

/** A query as the persister shows it to `shouldDehydrateQuery`. */
interface DehydratableQuery {
  meta?: Record<string, unknown>;
  state: { status: string };
}

/** A live list (made by useLiveQuery) holding data: the only queries worth persisting. */
export const isPersistableLiveQuery = (query: DehydratableQuery): boolean => query.meta?.[LIVE_META] === true && query.state.status === 'success';

export interface LivePersistOptions<P> {
  /** A TanStack Query persister (e.g. createAsyncStoragePersister over IndexedDB), one per signed-in user. */
  persister: P;
  /** Default DEFAULT_PERSIST_MAX_AGE; give the live queries a gcTime at least as long, or they leave the persisted state with the cache. */
  maxAge?: number;
  /** A persisted cache with another buster is dropped (the data's shape changed). */
  buster?: string;
}

/**
 * The `persistOptions` of PersistQueryClientProvider (or persistQueryClient) that persist
 * the live lists only, with the position each is at, so that after a reload each list shows
 * at once and its subscription resumes from that position instead of reading the list
 * again. Older than `maxAge`: dropped, and the lists are read again.
 */
export function livePersistOptions<P>(opts: LivePersistOptions<P>) {
  return {
    persister: opts.persister,
    maxAge: opts.maxAge ?? DEFAULT_PERSIST_MAX_AGE,
    buster: opts.buster ?? '',
    dehydrateOptions: {
      shouldDehydrateQuery: isPersistableLiveQuery,
      shouldDehydrateMutation: () => false,
    },
  };
}

export { useLiveInfiniteQuery, windowOfPages, splitIntoPages, type LiveInfiniteData, type LiveInfinitePage, type LiveInfiniteQueryOptions, type LiveInfiniteQueryResult } from './infinite.js';
export { newestFirst } from '@realtime/client';
export type { ConnectionState, ListOrder, ListPage, LiveWindow, PageInfo, PageSnapshot, RealtimeClient, SortTuple, Status } from '@realtime/client';
