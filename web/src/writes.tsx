// The signed-in user's writes, through @realtime/client's durable queue: kept in IndexedDB
// (idb-keyval, a key per user and tab: idbStorage) before they go out, so a write made offline
// or while the server is down survives a reload and a closed tab, is sent in order when
// the network returns, is applied once (Idempotency-Key), never overwrites a change the
// user did not see (If-Match with the row's version), and counts as done only when the
// stream brings its transaction (Realtime-Txid), the same commit every reader sees.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { del, get, keys, set } from 'idb-keyval';
import { createWriteQueue, memoryStorage, type QueueStorage, type WriteEntry, type WriteQueue } from '@realtime/client';
import { useConnection, useRealtimeClient } from '@realtime/react';
import type { Resource, Row } from './api';
import { overlay, type Overlaid } from './overlay';
import { RESOURCE_META, meQuery } from './qk';
import { canPersist } from './persist';

export const WRITES_PREFIX = 'realtime-writes:';
/** Every key of this user's queues: one per open tab, and those left by closed ones. */
export const writesKeyPrefix = (userId: string) => `${WRITES_PREFIX}${userId}:`;

/** This tab, for as long as it is open: the name of the lock it holds and of its queue's key. */
const tabId = Math.random().toString(36).substring(2) + Date.now().toString(36);
const tabLock = (tab: string) => `realtime-writes-tab:${tab}`;
let holding: Promise<void> | null = null;
/** Held until the tab closes, so that other tabs can tell its queue is alive. */
function holdTabLock(): Promise<void> {
  if (!holding) {
    holding = new Promise<void>((held) => {
      void navigator.locks.request(tabLock(tabId), () => {
        held();
        return new Promise<never>(() => undefined);
      });
    });
  }
  return holding;
}

/**
 * The queue's entries in IndexedDB, a key per tab (`realtime-writes:<userId>:<tab>`):
 * two tabs of one user each save their own queue, and neither overwrites the other's.
 * At load a tab takes over the queues of tabs that are gone (their lock is free: the tab
 * was closed or crashed), saving them under its own key before it deletes theirs, under a
 * lock, so that two tabs opening at once do not both take them (were they to, the
 * Idempotency-Key still applies each write once). Without Web Locks, one key per user.
 */
export function idbStorage(userId: string): QueueStorage {
  if (typeof navigator === 'undefined' || !navigator.locks) {
    const key = `${WRITES_PREFIX}${userId}`;
    return { load: async () => (await get<WriteEntry[]>(key)) ?? [], save: (entries) => (entries.length === 0 ? del(key) : set(key, entries)) };
  }
  const prefix = writesKeyPrefix(userId);
  const own = `${prefix}${tabId}`;
  return {
    load: async () => {
      await holdTabLock();
      return navigator.locks.request(`realtime-writes-adopt:${userId}`, async () => {
        const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
        const mine = (await get<WriteEntry[]>(own)) ?? [];
        const orphans = (await keys()).filter((k): k is string => typeof k === 'string' && k.startsWith(prefix) && k !== own && !held.has(tabLock(k.substring(prefix.length))));
        for (const k of orphans) mine.push(...((await get<WriteEntry[]>(k)) ?? []));
        if (orphans.length === 0) return mine;
        // Oldest first: the order the user made them in, across the tabs they came from.
        mine.sort((a, b) => a.createdAt - b.createdAt);
        await set(own, mine);
        await Promise.all(orphans.map((k) => del(k)));
        return mine;
      });
    },
    save: (entries) => (entries.length === 0 ? del(own) : set(own, entries)),
  };
}

/** Sign-out: this user's queues, of every tab, deleted. */
export async function forgetWrites(userId: string): Promise<void> {
  if (!canPersist()) return;
  const all = await keys().catch(() => [] as IDBValidKey[]);
  await Promise.all(all.filter((k): k is string => typeof k === 'string' && (k.startsWith(writesKeyPrefix(userId)) || k === `${WRITES_PREFIX}${userId}`)).map((k) => del(k).catch(() => undefined)));
}

const Ctx = createContext<WriteQueue | null>(null);

export function useWriteQueue(): WriteQueue {
  const q = useContext(Ctx);
  if (!q) throw new Error('useWriteQueue needs a <WritesProvider> above it');
  return q;
}

/** The queue if there is one (lists mounted outside a signed-in shell have none). */
export const useOptionalWriteQueue = (): WriteQueue | null => useContext(Ctx);

/**
 * One queue per signed-in user, mounted inside the RealtimeProvider: the stream's batches
 * confirm its writes, and it tries again at once when the browser is back online, when
 * the tab is shown, and when the socket is live again (the server is reachable).
 */
export function WritesProvider({ userId, children }: { userId: string; children: ReactNode }) {
  const client = useRealtimeClient();
  const qc = useQueryClient();
  // Done writes are not kept: the lists show the rows, and the writes page what is left to do.
  const [queue] = useState(() => createWriteQueue({ storage: canPersist() ? idbStorage(userId) : memoryStorage(), keepConfirmed: 0 }));
  useEffect(() => () => void queue.close(), [queue]);
  useEffect(
    () =>
      client.on('batch', (e) => {
        const txids: string[] = [];
        for (const c of e.changes) if (c.txid) txids.push(c.txid);
        if (txids.length) queue.confirmTxids(txids);
      }),
    [client, queue],
  );
  useEffect(() => {
    const kick = () => queue.kick();
    const shown = () => document.visibilityState === 'visible' && queue.kick();
    window.addEventListener('online', kick);
    document.addEventListener('visibilitychange', shown);
    return () => {
      window.removeEventListener('online', kick);
      document.removeEventListener('visibilitychange', shown);
    };
  }, [queue]);
  const status = useConnection().status;
  useEffect(() => {
    if (status === 'live') queue.kick();
  }, [status, queue]);
  useEffect(() => {
    // A write applied to a resource no mounted list follows has nothing to wait for: no
    // stream will bring it to this page, and no list shows it pending. Confirmed by its
    // answer, now and whenever the lists that follow a resource go away.
    const watched = () => new Set(qc.getQueryCache().findAll({ predicate: (q) => q.getObserversCount() > 0 }).map((q) => q.meta?.[RESOURCE_META]));
    const confirmUnwatched = () => {
      const sent = queue.entries().filter((e) => e.state === 'sent');
      if (sent.length === 0) return;
      const w = watched();
      for (const resource of new Set(sent.filter((e) => !w.has(e.resource)).map((e) => e.resource))) queue.confirmThrough(Date.now(), resource);
    };
    // After the event, not inside it: the queue is still telling its listeners.
    const offQueue = queue.on((e) => e.type === 'sent' && queueMicrotask(confirmUnwatched));
    const offCache = qc.getQueryCache().subscribe((e) => (e.type === 'observerRemoved' || e.type === 'removed') && confirmUnwatched());
    return () => {
      offQueue();
      offCache();
    };
  }, [queue, qc]);
  useEffect(
    () =>
      queue.on((e) => {
        // A new project makes its creator its owner: the roles in `me` changed.
        if (e.type === 'sent' && e.entry.kind === 'create' && e.entry.resource === 'projects') void qc.invalidateQueries({ queryKey: meQuery.queryKey });
        // The session is gone: `me` finds out, and the app shows the sign-in page. The
        // writes stay stored for this user's next sign-in.
        if (e.type === 'paused' && e.reason === 'unauthorized') void qc.invalidateQueries({ queryKey: meQuery.queryKey });
      }),
    [queue, qc],
  );
  return <Ctx.Provider value={queue}>{children}</Ctx.Provider>;
}

/** Every entry, re-rendering as they change. */
export function useWriteEntries(): readonly WriteEntry[] {
  return useEntriesOf(useWriteQueue());
}

const NONE: readonly WriteEntry[] = [];

function useEntriesOf(q: WriteQueue | null): readonly WriteEntry[] {
  const subscribe = useCallback((fn: () => void) => (q ? q.subscribe(fn) : () => undefined), [q]);
  return useSyncExternalStore(subscribe, () => (q ? q.entries() : NONE));
}

/** A list's rows with this resource's queued writes laid over them (overlay.ts). */
export function useOverlay<T extends Row>(resource: Resource, items: readonly T[] | undefined, belongs?: (row: Record<string, unknown>) => boolean): Overlaid<T> {
  const entries = useEntriesOf(useOptionalWriteQueue());
  return useMemo(() => overlay(items ?? [], entries, resource, belongs), [items, entries, resource, belongs]);
}

/** A row as the pages hold it: its id, and the version the user saw (what If-Match sends). */
export interface Seen {
  id: string;
  version?: number;
}

/** Writes of one resource, queued: they return at once, and the lists show them pending. */
export function useWrite(resource: Resource) {
  const q = useWriteQueue();
  return useMemo(
    () => ({
      create: (row: Record<string, unknown>) => q.create(resource, row),
      update: (row: Seen, patch: Record<string, unknown>) => q.update(resource, row.id, patch, row.version),
      remove: (row: Seen) => q.remove(resource, row.id, row.version),
    }),
    [q, resource],
  );
}

/** Entries still to be applied (waiting, on the wire, or applied and not yet seen in the stream). */
export const isWaiting = (e: WriteEntry) => e.state === 'queued' || e.state === 'sending' || e.state === 'sent';
/** Entries the user must decide on. */
export const needsAttention = (e: WriteEntry) => e.state === 'failed' || e.state === 'conflict';
