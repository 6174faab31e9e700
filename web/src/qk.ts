// Query keys, from one factory, so that live hooks and pages name the same caches.
export const qk = {
  projects: {
    all: ['projects'] as const,
    list: () => ['projects', 'list'] as const,
    detail: (id: string) => ['projects', 'detail', id] as const,
  },
  extraction: {
    jobs: (projectId: string) => ['extraction', 'jobs', projectId] as const,
    results: (projectId: string) => ['extraction', 'results', projectId] as const,
  },
  dataLayers: (projectId: string) => ['data-layers', projectId] as const,
  supplierMatches: (projectId: string) => ['supplier-matches', projectId] as const,
};
