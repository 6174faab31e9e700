// What each project role may do, in one table: the UI offers only what the server would
// accept, so a viewer meets no button that answers 403.
import type { Me, MemberRole } from '@realtime/api/types';

/** write: create, change and delete the project's jobs, results, layers and matches. */
export type Action = 'read' | 'write' | 'edit-project' | 'delete-project' | 'manage-members';

const allowed: Record<MemberRole, readonly Action[]> = {
  viewer: ['read'],
  editor: ['read', 'write'],
  owner: ['read', 'write', 'edit-project', 'delete-project', 'manage-members'],
};

/** No role (not a member, or not signed in) may do nothing. */
export function can(role: MemberRole | undefined, action: Action): boolean {
  return role ? allowed[role].includes(action) : false;
}

export function roleIn(me: Me | null | undefined, projectId: string): MemberRole | undefined {
  return me?.memberships.find((m) => m.projectId === projectId)?.role;
}
