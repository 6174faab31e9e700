// The role table: what viewers, editors, owners and non-members may do in a project.
import { describe, expect, test } from 'vitest';
import type { Me } from '@realtime/api/types';
import { can, roleIn, type Action } from './roles';

describe('can', () => {
  const actions: Action[] = ['read', 'write', 'edit-project', 'delete-project', 'manage-members'];
  test.each([
    ['viewer', [true, false, false, false, false]],
    ['editor', [true, true, false, false, false]],
    ['owner', [true, true, true, true, true]],
    [undefined, [false, false, false, false, false]],
  ] as const)('%s', (role, expected) => {
    expect(actions.map((a) => can(role, a))).toEqual(expected);
  });
});

describe('roleIn', () => {
  const me: Me = {
    user: { id: 'u1', email: 'a@example.com', name: 'A', operator: false },
    memberships: [
      { projectId: 'p1', role: 'owner' },
      { projectId: 'p2', role: 'viewer' },
    ],
  };
  test.each([
    ['p1', 'owner'],
    ['p2', 'viewer'],
    ['p3', undefined],
  ])('%s -> %s', (projectId, role) => {
    expect(roleIn(me, projectId)).toBe(role);
  });
  test('signed out: no role', () => {
    expect(roleIn(null, 'p1')).toBeUndefined();
  });
});
