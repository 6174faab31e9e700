// Query keys, from one factory, so that live hooks and pages name the same caches; and
// the typed query options of the queries that more than one component reads.
import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import { api } from './api';
import type { Project } from './rows';

export const qk = {
  me: ['auth', 'me'] as const,
  projects: {
    all: ['projects'] as const,
    list: () => ['projects', 'list'] as const,
    detail: (id: string) => ['projects', 'detail', id] as const,
  },
  members: (projectId: string) => ['members', projectId] as const,
  invitations: (projectId: string) => ['invitations', projectId] as const,
  myInvitations: ['invitations', 'mine'] as const,
  // A window's key holds its filter: each filter is a list of its own, with its own pages.
  extraction: {
    jobs: (projectId: string, filter: JobsFilter = {}) => ['extraction', 'jobs', projectId, filter] as const,
    results: (projectId: string) => ['extraction', 'results', projectId] as const,
  },
  dataLayers: (projectId: string) => ['data-layers', projectId] as const,
  supplierMatches: (projectId: string) => ['supplier-matches', projectId] as const,
};

export const jobStatuses = ['queued', 'processing', 'completed', 'failed'] as const;
export type JobStatus = (typeof jobStatuses)[number];
/** The jobs list's filter beyond its project: a status, or every job. */
export interface JobsFilter {
  status?: JobStatus;
}

/** The meta key naming the API resource a live list reads: which queued writes its stream confirms (writes.tsx). */
export const RESOURCE_META = 'resource';

/** Who is signed in (null: nobody): the app's one source of the session and of roles. */
export const meQuery = queryOptions({ queryKey: qk.me, queryFn: api.me });

export const projectQuery = (id: string) => queryOptions({ queryKey: qk.projects.detail(id), queryFn: () => api.get<Project>('projects', id) });

/** A project's members, a page at a time (not streamed: re-read after each change made here). */
export const membersQuery = (projectId: string) =>
  infiniteQueryOptions({
    queryKey: qk.members(projectId),
    queryFn: ({ pageParam, signal }) => api.members(projectId, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.page.next ?? undefined,
  });

export const invitationsQuery = (projectId: string) => queryOptions({ queryKey: qk.invitations(projectId), queryFn: () => api.invitations(projectId) });

/** Not streamed (nothing of a project reaches an invitee before they accept): read on mount and on focus. */
export const myInvitationsQuery = queryOptions({ queryKey: qk.myInvitations, queryFn: api.myInvitations });
