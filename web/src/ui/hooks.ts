// Page-level data hooks: the signed-in user and their role, live lists of a project's
// children, and mutations that leave the cache to the stream (the change comes back as
// an event within milliseconds).
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import type { Me, MemberRole } from '@realtime/protocol';
import { api, type Resource } from '../api';
import { meQuery, qk } from '../qk';
import { useLiveList } from '../live';
import type { Row } from '../api';
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

export function useWrite(resource: Resource) {
  return {
    create: useMutation({ mutationFn: (body: Record<string, unknown>) => api.create<Row>(resource, body) }),
    update: useMutation({ mutationFn: ({ id, ...body }: { id: string } & Record<string, unknown>) => api.update<Row>(resource, id, body) }),
    remove: useMutation({ mutationFn: (id: string) => api.remove(resource, id) }),
  };
}

/** Re-renders every `ms` (for durations that tick). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
