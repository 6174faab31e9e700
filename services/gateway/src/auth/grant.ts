// What a token's grant lets a client see. Rows belong to a project through the column
// the catalog names for their table (realtime_enable's third argument: projects' id,
// project_id elsewhere); a table without one belongs to no project. "*" grants all of its kind.
import type { Filter, Grant } from '@realtime/protocol';
import type { DbRow } from '../subscriptions/route';

export function channelAllowed(grant: Grant, channel: string): boolean {
  return grant.channels.includes('*') || grant.channels.includes(channel);
}

export function projectAllowed(grant: Grant, projectId: unknown): boolean {
  if (grant.projects.includes('*')) return true;
  return typeof projectId === 'string' && grant.projects.includes(projectId);
}

export function rowAllowed(grant: Grant, projectColumn: string | null, row: DbRow | null): boolean {
  if (!row) return false;
  if (grant.projects.includes('*')) return true;
  return projectColumn !== null && projectAllowed(grant, row[projectColumn]);
}

export type Verdict = { ok: true } | { ok: false; message: string };

/** A subscription is refused when it asks, by channel or by a project filter, for what the grant withholds. */
export function subscriptionAllowed(grant: Grant, channel: string, projectColumn: string | null, filter: Filter | undefined): Verdict {
  if (!channelAllowed(grant, channel)) return { ok: false, message: `your token does not grant the channel "${channel}"` };
  const wanted = projectColumn === null ? undefined : filter?.[projectColumn];
  if (wanted !== undefined && !projectAllowed(grant, wanted)) {
    return { ok: false, message: `your token does not grant project ${String(wanted)}` };
  }
  return { ok: true };
}
