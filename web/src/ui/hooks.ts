// Page-level data hooks: the signed-in user and their role, the live lists of a
// project's children, and a shared clock for what ticks. Writes go through the queue
// (../writes.tsx).
import { useCallback, useSyncExternalStore } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { Me, MemberRole } from '@realtime/api/types';
import { meQuery, qk, type JobsFilter } from '../qk';
import { useLiveList, useLiveWindow } from '../live';
import type { DataLayer, ExtractionJob, ExtractionResult, SupplierMatch } from '../rows';
import { roleIn } from '../roles';

/** The signed-in user (null for the moment between a sign-out and the shell's unmount). */
export function useMe(): Me | null {
  return useQuery(meQuery).data ?? null;
}

export function useRole(projectId: string): MemberRole | undefined {
  return roleIn(useMe(), projectId);
}

export const useJobsWindow = (projectId: string, filter: JobsFilter = {}) =>
  useLiveWindow<ExtractionJob>('extraction-jobs', 'extraction_jobs', qk.extraction.jobs(projectId, filter), { projectId, status: filter.status });
export const useResultsWindow = (projectId: string) =>
  useLiveWindow<ExtractionResult>('extraction-results', 'extraction_results', qk.extraction.results(projectId), { projectId });
export const useMatchesWindow = (projectId: string) =>
  useLiveWindow<SupplierMatch>('supplier-matches', 'supplier_matches', qk.supplierMatches(projectId), { projectId });
/** A project's data layers: a handful, read whole. */
export const useLayersLive = (projectId: string) =>
  useLiveList<DataLayer>('data-layers', 'data_layers', qk.dataLayers(projectId), { projectId }, { filter: { projectId } });

/**
 * One clock per period for everything that ticks: a single interval, running only while
 * some component reads it, so that only the components that show a moving time re-render
 * (a running job's duration in view), not the lists around them.
 */
const clocks = new Map<number, { now: number; listeners: Set<() => void>; timer: ReturnType<typeof setInterval> | null }>();

function clockOf(ms: number) {
  let c = clocks.get(ms);
  if (!c) clocks.set(ms, (c = { now: Date.now(), listeners: new Set(), timer: null }));
  return c;
}

function subscribeClock(ms: number, fn: () => void): () => void {
  const c = clockOf(ms);
  c.listeners.add(fn);
  if (!c.timer) {
    c.now = Date.now();
    c.timer = setInterval(() => {
      c.now = Date.now();
      for (const l of [...c.listeners]) l();
    }, ms);
  }
  return () => {
    c.listeners.delete(fn);
    if (c.listeners.size === 0 && c.timer) {
      clearInterval(c.timer);
      c.timer = null;
    }
  };
}

/** How many components read the clock of period `ms` now: what one tick re-renders. */
export const clockReaders = (ms = 1000): number => clocks.get(ms)?.listeners.size ?? 0;

/** The shared clock of period `ms`: re-renders the caller (and only it) at each tick. */
export function useTick(ms = 1000): number {
  // The same subscribe function across renders: a new one would make React subscribe again
  // at every render, and a clock started again reads a new time, which renders again.
  const subscribe = useCallback((fn: () => void) => subscribeClock(ms, fn), [ms]);
  return useSyncExternalStore(subscribe, () => clockOf(ms).now);
}

/** Re-renders every `ms` (for durations that tick). */
export const useNow = (ms = 1000): number => useTick(ms);
