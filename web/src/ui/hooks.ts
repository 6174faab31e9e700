// Page-level data hooks: the signed-in user and their role, and live lists of a
// project's children. Writes go through the queue (../writes.tsx).
import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { Me, MemberRole } from '@realtime/api/types';
import { meQuery, qk } from '../qk';
import { useLiveList } from '../live';
import type { DataLayer, ExtractionResult, SupplierMatch } from '../rows';
import { roleIn } from '../roles';

/** The signed-in user (null for the moment between a sign-out and the shell's unmount). */
export function useMe(): Me | null {
  return useQuery(meQuery).data ?? null;
}

export function useRole(projectId: string): MemberRole | undefined {
  return roleIn(useMe(), projectId);
}

export const useResultsLive = (projectId: string) =>
  useLiveList<ExtractionResult>('extraction-results', 'extraction_results', qk.extraction.results(projectId), { projectId }, { filter: { projectId } });
export const useLayersLive = (projectId: string) =>
  useLiveList<DataLayer>('data-layers', 'data_layers', qk.dataLayers(projectId), { projectId }, { filter: { projectId } });
export const useMatchesLive = (projectId: string) =>
  useLiveList<SupplierMatch>('supplier-matches', 'supplier_matches', qk.supplierMatches(projectId), { projectId }, { filter: { projectId } });

/** Re-renders every `ms` (for durations that tick). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
