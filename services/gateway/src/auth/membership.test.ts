import { describe, expect, test } from 'vitest';
import { MembershipLog, grantWithNewProject, membershipEvent, type MembershipEvent } from './membership';

const A = 'a0000000-0000-0000-0000-000000000000';
const B = 'b0000000-0000-0000-0000-000000000000';
const U = 'u0000000-0000-0000-0000-000000000000';

// Viewer of A at 10, editor at 20, out at 30, back at 40; owner of B at 15.
const history: MembershipEvent[] = [
  { seq: 30, projectId: A, role: null },
  { seq: 10, projectId: A, role: 'viewer' },
  { seq: 15, projectId: B, role: 'owner' },
  { seq: 40, projectId: A, role: 'viewer' },
  { seq: 20, projectId: A, role: 'editor' },
];
const log = new MembershipLog();
for (const e of history) log.add(e);

describe('MembershipLog.roleAt', () => {
  test.each([
    [A, 9, null],
    [A, 10, 'viewer'],
    [A, 19, 'viewer'],
    [A, 20, 'editor'],
    [A, 29, 'editor'],
    [A, 30, null],
    [A, 39, null],
    [A, 40, 'viewer'],
    [A, 1e9, 'viewer'],
    [B, 14, null],
    [B, 15, 'owner'],
    ['c0000000-0000-0000-0000-000000000000', 50, null],
  ] as const)('%s at %i is %s', (project, seq, role) => {
    expect(log.roleAt(project, seq)).toBe(role);
  });

  test('an event learned twice (feed and outbox read) counts once', () => {
    const l = new MembershipLog();
    expect(l.add({ seq: 5, projectId: A, role: 'viewer' })).toBe(true);
    expect(l.add({ seq: 5, projectId: A, role: 'viewer' })).toBe(false);
    expect(l.current(A)).toBe('viewer');
  });
});

describe('MembershipLog.flips and flippedBetween', () => {
  test.each([
    ['a first grant', { seq: 10, projectId: A, role: 'viewer' }, true],
    ['a change of role', { seq: 20, projectId: A, role: 'editor' }, false],
    ['a revocation', { seq: 30, projectId: A, role: null }, true],
    ['a grant after a revocation', { seq: 40, projectId: A, role: 'viewer' }, true],
  ] as const)('%s', (_n, e, flips) => {
    expect(log.flips(e)).toBe(flips);
  });

  test.each([
    [0, 9, []],
    [0, 100, [A, B]],
    [10, 29, [B]],
    [15, 29, []],
    [10, 30, [A, B]],
    [15, 100, [A]],
    [40, 100, []],
  ] as const)('(%i, %i] flips %j', (after, upTo, projects) => {
    expect([...log.flippedBetween(after, upTo)].sort()).toEqual([...projects].sort());
  });
});

describe('membershipEvent', () => {
  test.each([
    ['insert', { seq: 3, op: 'INSERT', newRow: { user_id: U, project_id: A, role: 'editor' }, oldRow: null }, { userId: U, event: { seq: 3, projectId: A, role: 'editor' } }],
    ['update', { seq: 4, op: 'UPDATE', newRow: { user_id: U, project_id: A, role: 'owner' }, oldRow: { user_id: U, project_id: A, role: 'editor' } }, { userId: U, event: { seq: 4, projectId: A, role: 'owner' } }],
    ['delete', { seq: 5, op: 'DELETE', newRow: null, oldRow: { user_id: U, project_id: A, role: 'owner' } }, { userId: U, event: { seq: 5, projectId: A, role: null } }],
    ['a row without ids', { seq: 6, op: 'INSERT', newRow: { role: 'viewer' }, oldRow: null }, null],
  ] as const)('%s', (_n, change, expected) => {
    expect(membershipEvent(change as never)).toEqual(expected);
  });
});

describe('grantWithNewProject', () => {
  const grant = { seq: 10, table: 'project_members', op: 'INSERT', txid: '7', newRow: { project_id: A, user_id: U } };
  const project = (txid: string, id = A) => ({ seq: 11, table: 'projects', op: 'INSERT', txid, newRow: { id } });
  test.each([
    ['the project is created next in the same transaction', [grant, project('7')], true],
    ['after other rows of the same transaction', [grant, { seq: 11, table: 'project_members', op: 'INSERT', txid: '7', newRow: {} }, { ...project('7'), seq: 12 }], true],
    ['in another transaction', [grant, project('8')], false],
    ['another project', [grant, project('7', B)], false],
    ['not in this batch', [grant], false],
    ['an update of the project', [grant, { ...project('7'), op: 'UPDATE' }], false],
  ] as const)('%s', (_n, batch, expected) => {
    expect(grantWithNewProject(batch as never, 0, A)).toBe(expected);
  });
});
