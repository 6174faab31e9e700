// What both live hooks need of React and the query cache: the latest options without
// re-subscribing when they change, and a subscribe function for useSyncExternalStore over
// one query of the cache.
import { useCallback, useLayoutEffect, useRef, type MutableRefObject } from 'react';
import { notifyManager, type QueryClient } from '@tanstack/react-query';

/** The value of the last render, for effects and callbacks that outlive it. */
export function useLatest<T>(value: T): MutableRefObject<T> {
  const ref = useRef(value);
  useLayoutEffect(() => {
    ref.current = value;
  });
  return ref;
}

/** useSyncExternalStore's subscribe for the query hashed `hash`: told of each of its cache events. */
export function useQueryWatch(qc: QueryClient, hash: string): (onChange: () => void) => () => void {
  return useCallback(
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
}

/**
 * What a query kept live by the stream asks of TanStack Query: never stale (the stream
 * keeps it current; it is read again on a resync or by an explicit refetch), and no read
 * on focus or at `online`, where the replay brings what it missed for nothing.
 */
export const LIVE_QUERY_DEFAULTS = { staleTime: Infinity, refetchOnWindowFocus: false, refetchOnReconnect: false } as const;
