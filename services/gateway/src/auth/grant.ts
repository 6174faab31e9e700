// What a token's grant lets a client see. Rows belong to a project: projects by their
// id, every other table by its project_id column. "*" grants all of its kind.
import type { Filter, Grant } from '@realtime/protocol';
import type { DbRow } from '../subscriptions/route';

/** The column that names a row's project on a channel. */
export const projectColumn = (channel: string) => (channel === 'projects' ? 'id' : 'project_id');

export function channelAllowed(grant: Grant, channel: string): boolean {
  return grant.channels.includes('*') || grant.channels.includes(channel);
}

export function projectAllowed(grant: Grant, projectId: unknown): boolean {
  if (grant.projects.includes('*')) return true;
  return typeof projectId === 'string' && grant.projects.includes(projectId);
}

export function rowAllowed(grant: Grant, channel: string, row: DbRow | null): boolean {
  if (!row) return false;
  if (grant.projects.includes('*')) return true;
  return projectAllowed(grant, row[projectColumn(channel)]);
}

export type Verdict = { ok: true } | { ok: false; message: string };

/** A subscription is refused when it asks, by channel or by a project filter, for what the grant withholds. */
export function subscriptionAllowed(grant: Grant, channel: string, filter: Filter | undefined): Verdict {
  if (!channelAllowed(grant, channel)) return { ok: false, message: `your token does not grant the channel "${channel}"` };
  const column = projectColumn(channel);
  const wanted = filter?.[column];
  if (wanted !== undefined && !projectAllowed(grant, wanted)) {
    return { ok: false, message: `your token does not grant project ${String(wanted)}` };
  }
  return { ok: true };
}
