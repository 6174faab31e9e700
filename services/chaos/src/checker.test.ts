import { describe, expect, test } from 'vitest';
import { encodeCursor } from '@realtime/auth';
import { canonical, checkDelivery, checkFresh, checkOutbox, checkRestore, compareCache, historyOf, isMember, lastMembershipChange, lostSeqs, membershipHistory, owed, positionOf, projectsOf, readCursor, type AtRestore, type Delivery, type MemberChange, type OutboxChange } from './checker';
import { checkQueueWrites, type IntendedWrite, type QueueOutboxRow } from './queue-check';

const seqs = (xs: number[], projects: string[] = []): Delivery[] => xs.map((seq) => ({ seq, projects }));

describe('checkDelivery', () => {
  test.each([
    { name: 'exact', received: [1, 3, 5], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'nothing owed, nothing sent', received: [], expected: [], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a gap', received: [1, 5], expected: [1, 3, 5], complete: true, want: { lost: 1, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'the tail missing at the end of the run', received: [1, 3], expected: [1, 3, 5], complete: true, want: { lost: 1, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'the tail not owed before a resync', received: [1, 3], expected: [1, 3, 5], complete: false, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a gap before a resync', received: [1, 5], expected: [1, 3, 5, 7], complete: false, want: { lost: 1, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a resync before any change', received: [], expected: [2, 4], complete: false, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a repeat at the seam', received: [1, 3, 3, 5], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 1, outOfOrder: 0, unexpected: 0 } },
    { name: 'a replay from the start again', received: [1, 3, 5, 1, 3, 5], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 3, outOfOrder: 1, unexpected: 0 } },
    { name: 'swapped', received: [1, 5, 3], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 1, unexpected: 0 } },
    { name: 'outside the filter', received: [1, 2, 3], expected: [1, 3], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 1 } },
  ])('$name', ({ received, expected, complete, want }) => {
    const f = checkDelivery(seqs(received), expected, complete);
    expect({ lost: f.lost, duplicated: f.duplicated, outOfOrder: f.outOfOrder, unexpected: f.unexpected }).toEqual(want);
    expect(f.unauthorized).toBe(0);
    const clean = Object.values(want).every((n) => n === 0);
    expect(f.first === null).toBe(clean);
  });

  test('the first problem is named with its seq', () => {
    expect(checkDelivery(seqs([1, 5]), [1, 3, 5], true, 'sub 7').first).toBe('sub 7: seq 3 never received');
  });
});

describe('checkDelivery with membership', () => {
  // u is a member of A from seq 10 to seq 20 (revoked at 20), and of B throughout.
  const member = (project: string, seq: number) => project === 'B' || (project === 'A' && seq >= 10 && seq < 20);
  test.each([
    { name: 'every row of a project it was a member of', received: [{ seq: 12, projects: ['A'] }, { seq: 25, projects: ['B'] }], expected: [12, 25], want: [0, 0, 0] },
    { name: 'a row of A before the grant', received: [{ seq: 5, projects: ['A'] }], expected: [], want: [1, 0, 0] },
    { name: 'a row of A at the revocation seq', received: [{ seq: 20, projects: ['A'] }], expected: [], want: [1, 0, 0] },
    { name: 'a move from B into A after the revocation carries A', received: [{ seq: 30, projects: ['A', 'B'] }], expected: [30], want: [1, 0, 0] },
    { name: 'a project never granted', received: [{ seq: 15, projects: ['C'] }], expected: [], want: [1, 0, 0] },
    { name: 'unauthorized is not counted again as unexpected, a plain stray is', received: [{ seq: 5, projects: ['A'] }, { seq: 26, projects: ['B'] }], expected: [], want: [1, 1, 0] },
    { name: 'an owed change not received is lost', received: [{ seq: 12, projects: ['A'] }], expected: [12, 14], want: [0, 0, 1] },
  ])('$name', ({ received, expected, want }) => {
    const f = checkDelivery(received, expected, true, 'user sub', member);
    expect([f.unauthorized, f.unexpected, f.lost]).toEqual(want);
  });

  test('a service token (no membership) is never unauthorized', () => {
    expect(checkDelivery([{ seq: 5, projects: ['Z'] }], [5], true).unauthorized).toBe(0);
  });

  test('the first problem names the project', () => {
    expect(checkDelivery([{ seq: 5, projects: ['A'] }], [], true, 'sub 3', member).first).toBe('sub 3: seq 5 received, a row of project A, which the user was not a member of at that seq');
  });
});

describe('membership history', () => {
  const ch = (seq: number, op: MemberChange['op'], userId = 'u', projectId = 'A'): MemberChange => ({ seq, op, userId, projectId });
  test.each([
    { name: 'never granted', changes: [], seq: 50, member: false },
    { name: 'granted before', changes: [ch(10, 'INSERT')], seq: 50, member: true },
    { name: 'granted at exactly this seq', changes: [ch(50, 'INSERT')], seq: 50, member: true },
    { name: 'granted after', changes: [ch(51, 'INSERT')], seq: 50, member: false },
    { name: 'revoked before', changes: [ch(10, 'INSERT'), ch(20, 'DELETE')], seq: 50, member: false },
    { name: 'revoked at exactly this seq', changes: [ch(10, 'INSERT'), ch(50, 'DELETE')], seq: 50, member: false },
    { name: 'between grant and revocation', changes: [ch(10, 'INSERT'), ch(60, 'DELETE')], seq: 50, member: true },
    { name: 'a role change keeps it', changes: [ch(10, 'INSERT'), ch(20, 'UPDATE')], seq: 50, member: true },
    { name: 'granted again', changes: [ch(10, 'INSERT'), ch(20, 'DELETE'), ch(30, 'INSERT')], seq: 50, member: true },
    { name: 'rows in any order', changes: [ch(30, 'INSERT'), ch(10, 'INSERT'), ch(20, 'DELETE')], seq: 25, member: false },
    { name: 'another user\'s grant', changes: [ch(10, 'INSERT', 'v')], seq: 50, member: false },
    { name: 'another project\'s grant', changes: [ch(10, 'INSERT', 'u', 'B')], seq: 50, member: false },
  ])('$name', ({ changes, seq, member }) => {
    expect(isMember(membershipHistory(changes), 'u', 'A', seq)).toBe(member);
  });

  test.each([
    { name: 'none', changes: [], want: 0 },
    { name: 'the revocation after the grant', changes: [ch(10, 'INSERT'), ch(20, 'DELETE')], want: 20 },
    { name: 'a role change counts', changes: [ch(10, 'INSERT'), ch(30, 'UPDATE')], want: 30 },
    { name: 'other users and projects do not', changes: [ch(10, 'INSERT'), ch(40, 'DELETE', 'v'), ch(50, 'INSERT', 'u', 'B')], want: 10 },
  ])('last change: $name', ({ changes, want }) => {
    expect(lastMembershipChange(membershipHistory(changes), 'u', 'A')).toBe(want);
  });
});

describe('checkFresh', () => {
  // Granted A at 10 and B at 11, A revoked at 20: a fresh socket opened then.
  const history = membershipHistory([
    { seq: 10, op: 'INSERT', userId: 'u', projectId: 'A' },
    { seq: 11, op: 'INSERT', userId: 'u', projectId: 'B' },
    { seq: 20, op: 'DELETE', userId: 'u', projectId: 'A' },
  ]);
  const member = (p: string, seq: number) => isMember(history, 'u', p, seq);
  test.each([
    { name: 'nothing received', received: [], unauthorized: 0 },
    { name: 'B only, before and after the revocation', received: [{ seq: 15, projects: ['B'] }, { seq: 25, projects: ['B'] }], unauthorized: 0 },
    { name: 'A before its revocation', received: [{ seq: 19, projects: ['A'] }], unauthorized: 0 },
    { name: 'A after its revocation', received: [{ seq: 21, projects: ['B'] }, { seq: 22, projects: ['A'] }, { seq: 23, projects: ['A'] }], unauthorized: 2 },
    { name: 'a move from B into A after it', received: [{ seq: 30, projects: ['B', 'A'] }], unauthorized: 1 },
    { name: 'again after a reconnect, and out of order: not its business', received: [{ seq: 25, projects: ['B'] }, { seq: 24, projects: ['B'] }, { seq: 25, projects: ['B'] }], unauthorized: 0 },
  ])('$name', ({ received, unauthorized }) => {
    const f = checkFresh(received, member, 'fresh');
    expect(f).toMatchObject({ unauthorized, lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 });
    if (unauthorized) expect(f.first).toMatch(/^fresh: seq 2?\d+ received, a row of project A/);
    else expect(f.first).toBeNull();
  });
});

describe('readCursor', () => {
  test('the head and snapshot of an API cursor; anything else is named', () => {
    const cursor = Buffer.from(JSON.stringify({ v: 1, h: 42, s: '10:12:10' })).toString('base64url');
    expect(readCursor(cursor)).toEqual({ head: 42, snapshot: '10:12:10' });
    const signed = encodeCursor(new TextEncoder().encode('chaos-test-secret-chaos-test-secret!'), 42, '10:12:10', null);
    expect(readCursor(signed)).toEqual({ head: 42, snapshot: '10:12:10' });
    expect(() => readCursor(Buffer.from('{"v":1}').toString('base64url'))).toThrow(/not a list cursor/);
  });
});

describe('owed', () => {
  const job = (seq: number, op: OutboxChange['op'], oldProject: string | null, newProject: string | null, status = 'queued'): OutboxChange => ({
    seq,
    table: 'extraction_jobs',
    op,
    old: oldProject ? { id: 'j', project_id: oldProject, status } : null,
    new: newProject ? { id: 'j', project_id: newProject, status } : null,
  });
  const changes: OutboxChange[] = [
    job(1, 'INSERT', null, 'A'),
    job(2, 'INSERT', null, 'B'),
    { seq: 3, table: 'projects', op: 'UPDATE', old: { id: 'A', status: 'active' }, new: { id: 'A', status: 'archived' } },
    job(4, 'UPDATE', 'A', 'B'),
    job(5, 'UPDATE', 'B', 'A'),
    job(6, 'DELETE', 'A', null),
    job(7, 'UPDATE', 'B', 'B', 'failed'),
  ];
  const from0 = { after: 0, inList: new Set<number>() };
  // Member of A until seq 5 (revoked at 5), never of B.
  const onlyA = (project: string, seq: number) => project === 'A' && seq < 5;
  test.each([
    { name: 'a service token: the whole channel', filter: {}, from: from0, member: null, want: [1, 2, 4, 5, 6, 7] },
    { name: 'a service token filtered on B', filter: { project_id: 'B' }, from: from0, member: null, want: [2, 4, 5, 7] },
    { name: 'a member of A: a move out of A is owed (as a DELETE), nothing after the revocation', filter: {}, from: from0, member: onlyA, want: [1, 4] },
    { name: 'after its start only', filter: {}, from: { after: 2, inList: new Set<number>() }, member: null, want: [4, 5, 6, 7] },
    { name: 'not what its list held', filter: {}, from: { after: 2, inList: new Set([4, 6]) }, member: null, want: [5, 7] },
    { name: 'a filter on another column', filter: { status: 'failed' }, from: from0, member: null, want: [7] },
  ])('$name', ({ filter, from, member, want }) => {
    expect(owed(changes, { name: 'extraction_jobs', projectColumn: 'project_id' }, filter as Record<string, string>, from, member)).toEqual(want);
  });

  test('projects are their own project', () => {
    const projects = { name: 'projects', projectColumn: 'id' };
    expect(owed(changes, projects, { status: 'archived' }, from0, (p) => p === 'A')).toEqual([3]);
    expect(owed(changes, projects, {}, from0, (p) => p === 'B')).toEqual([]);
  });
});

describe('projectsOf', () => {
  test.each([
    { key: 'id', rows: [{ id: 'A' }, null], want: ['A'] },
    { key: 'projectId', rows: [{ id: 'j', projectId: 'B' }, { id: 'j', projectId: 'A' }], want: ['B', 'A'] },
    { key: 'projectId', rows: [{ id: 'l', projectId: 'A' }, { id: 'l', projectId: 'A' }], want: ['A'] },
    { key: 'projectId', rows: [null, null], want: [] },
    { key: null, rows: [{ id: 'n', projectId: 'A' }], want: [] },
  ])('$key', ({ key, rows, want }) => {
    expect(projectsOf(key, rows)).toEqual(want);
  });
});

describe('compareCache', () => {
  const a = { id: 'a', name: 'x', meta: { k: 1, j: 2 } };
  test.each([
    { name: 'equal, key order aside', cache: [{ meta: { j: 2, k: 1 }, name: 'x', id: 'a' }], fresh: [a], want: [0, 0, 0] },
    { name: 'missing row', cache: [], fresh: [a], want: [1, 0, 0] },
    { name: 'extra row', cache: [a], fresh: [], want: [0, 1, 0] },
    { name: 'stale value', cache: [{ ...a, name: 'old' }], fresh: [a], want: [0, 0, 1] },
    { name: 'nested difference', cache: [{ ...a, meta: { k: 1 } }], fresh: [a], want: [0, 0, 1] },
  ])('$name', ({ cache, fresh, want }) => {
    const d = compareCache(cache, fresh);
    expect([d.missing, d.extra, d.differing]).toEqual(want);
  });

  test('canonical ignores key order, keeps array order', () => {
    expect(canonical({ b: 1, a: [2, 1] })).toBe(canonical({ a: [2, 1], b: 1 }));
    expect(canonical({ a: [1, 2] })).not.toBe(canonical({ a: [2, 1] }));
  });
});

describe('checkOutbox', () => {
  test.each([
    { name: 'dense', facts: { rows: 3, stamped: 3, distinct: 3, min: 1, max: 3 }, problems: 0 },
    { name: 'empty', facts: { rows: 0, stamped: 0, distinct: 0, min: null, max: null }, problems: 0 },
    { name: 'unstamped', facts: { rows: 4, stamped: 3, distinct: 3, min: 1, max: 3 }, problems: 1 },
    { name: 'given twice', facts: { rows: 3, stamped: 3, distinct: 2, min: 1, max: 2 }, problems: 2 },
    { name: 'a hole', facts: { rows: 3, stamped: 3, distinct: 3, min: 1, max: 4 }, problems: 1 },
    { name: 'not from 1', facts: { rows: 3, stamped: 3, distinct: 3, min: 2, max: 4 }, problems: 1 },
  ])('$name', ({ facts, problems }) => {
    expect(checkOutbox(facts)).toHaveLength(problems);
  });
});

describe('the restore fault', () => {
  const cursor = (h: number) => Buffer.from(JSON.stringify({ h, s: '10:12:10' })).toString('base64url');

  test.each([
    { name: 'the last delivery', start: { since: 0 }, received: [3, 9], want: 9 },
    { name: 'a replay with nothing yet', start: { since: 4 }, received: [], want: 4 },
    { name: "a list's head with nothing yet", start: { cursor: cursor(12) }, received: [], want: 12 },
    { name: 'a list, then deliveries', start: { cursor: cursor(12) }, received: [13, 20], want: 20 },
  ])('positionOf: $name', ({ start, received, want }) => {
    expect(positionOf(start, seqs(received))).toBe(want);
  });

  const at = (over: Partial<AtRestore> = {}): AtRestore => ({ epochs: 3, ended: false, position: 10, received: 2, ...over });
  const lost = (seq: number) => seq > 10 && seq !== 12;
  test.each([
    { name: 'no restore in the run', index: 0, endedBy: null, at: undefined, want: 'new' },
    { name: 'an epoch ended before the restore', index: 1, at: at(), want: 'old' },
    { name: 'the current epoch, at a seq the restore took away', index: 2, at: at({ position: 11 }), want: 'old' },
    { name: 'the current epoch, at a seq past the backup the new history gave the same change', index: 2, at: at({ position: 12 }), want: 'new' },
    { name: 'the current epoch, at a seq both histories share', index: 2, at: at({ position: 10 }), want: 'new' },
    { name: 'the last epoch, ended already when the restore came', index: 2, at: at({ ended: true, position: 4 }), want: 'old' },
    { name: 'an epoch begun after the restore', index: 3, at: at({ position: 11 }), want: 'new' },
    { name: 'a subscriber that had not joined at the restore', index: 0, at: at({ epochs: 0, ended: true }), want: 'new' },
  ])('historyOf: $name', ({ index, at: a, want }) => {
    expect(historyOf(index, a, lost)).toBe(want);
  });

  test.each([
    { name: 'taken away, history-changed, nothing on top', at: at({ position: 11 }), then: { endedBy: 'history-changed', received: 2 }, want: { beyond: 1, resynced: 1, refused: 0, preempted: 0, behind: 0, resumed: 0, problems: 0 } },
    { name: 'taken away, refused: the grant was lost too', at: at({ position: 11 }), then: { endedBy: 'forbidden', received: 2 }, want: { beyond: 1, resynced: 0, refused: 1, preempted: 0, behind: 0, resumed: 0, problems: 0 } },
    { name: 'taken away, resumed as if nothing happened', at: at({ position: 11 }), then: { endedBy: null, received: 5 }, want: { beyond: 1, resynced: 0, refused: 0, preempted: 0, behind: 0, resumed: 0, problems: 1 } },
    { name: 'taken away, the new history replayed before the resync', at: at({ position: 11 }), then: { endedBy: 'history-changed', received: 4 }, want: { beyond: 1, resynced: 0, refused: 0, preempted: 0, behind: 0, resumed: 0, problems: 1 } },
    { name: 'taken away, a membership resync first (a live grant), nothing on top', at: at({ position: 11 }), then: { endedBy: 'membership', received: 2 }, want: { beyond: 1, resynced: 0, refused: 0, preempted: 1, behind: 0, resumed: 0, problems: 0 } },
    { name: 'taken away, a slow-client resync first (another subscription of the socket), nothing on top', at: at({ position: 11 }), then: { endedBy: 'slow-client', received: 2 }, want: { beyond: 1, resynced: 0, refused: 0, preempted: 1, behind: 0, resumed: 0, problems: 0 } },
    { name: 'taken away, a slow-client resync after changes on top', at: at({ position: 11 }), then: { endedBy: 'slow-client', received: 3 }, want: { beyond: 1, resynced: 0, refused: 0, preempted: 0, behind: 0, resumed: 0, problems: 1 } },
    { name: 'at the backup, resumed', at: at({ position: 10 }), then: { endedBy: null, received: 9 }, want: { beyond: 0, resynced: 0, refused: 0, preempted: 0, behind: 1, resumed: 1, problems: 0 } },
    { name: 'past the backup, the same change in both histories, resumed', at: at({ position: 12 }), then: { endedBy: null, received: 9 }, want: { beyond: 0, resynced: 0, refused: 0, preempted: 0, behind: 1, resumed: 1, problems: 0 } },
    { name: 'before the backup, resumed then resynced for membership', at: at({ position: 4 }), then: { endedBy: 'membership', received: 3 }, want: { beyond: 0, resynced: 0, refused: 0, preempted: 0, behind: 1, resumed: 1, problems: 0 } },
    { name: 'before the backup, yet history-changed', at: at({ position: 4 }), then: { endedBy: 'history-changed', received: 2 }, want: { beyond: 0, resynced: 0, refused: 0, preempted: 0, behind: 1, resumed: 0, problems: 1 } },
    { name: 'no subscription at the restore (refused, refetching)', at: at({ position: 40, ended: true }), then: { endedBy: 'forbidden', received: 2 }, want: { beyond: 0, resynced: 0, refused: 0, preempted: 0, behind: 0, resumed: 0, problems: 0 } },
    { name: 'not joined at the restore', at: undefined, then: undefined, want: { beyond: 0, resynced: 0, refused: 0, preempted: 0, behind: 0, resumed: 0, problems: 0 } },
  ])('checkRestore (backup at 10, seq 12 the same change in both): $name', ({ at: a, then, want }) => {
    const f = checkRestore([{ label: 'sub', at: a, then }], lost);
    expect({ ...f, problems: f.problems.length }).toEqual(want);
  });

  test('lostSeqs: a seq whose row is another, or none', () => {
    const old = new Map([[11, 'a'], [12, 'b'], [13, 'c'], [14, 'd']]);
    const now = new Map([[11, 'x'], [12, 'b'], [13, 'c']]);
    expect([...lostSeqs(old, now)]).toEqual([11, 14]);
  });
});

describe('checkQueueWrites', () => {
  const A = 'chaos-queue-1@chaos.test';
  const B = 'chaos-queue-2@chaos.test';
  const create = (outcome: IntendedWrite['outcome'], extra: Partial<IntendedWrite> = {}): IntendedWrite => ({ id: 'e1', kind: 'create', rowId: 'r1', marker: 'qw1-1', actor: A, outcome, txid: '100', ...extra });
  const update = (outcome: IntendedWrite['outcome'], extra: Partial<IntendedWrite> = {}): IntendedWrite => ({ id: 'e2', kind: 'update', rowId: 'r1', marker: 'qw1-2', actor: A, outcome, txid: '101', ...extra });
  const remove = (outcome: IntendedWrite['outcome'], extra: Partial<IntendedWrite> = {}): IntendedWrite => ({ id: 'e3', kind: 'delete', rowId: 'r1', marker: null, actor: A, outcome, txid: '102', ...extra });
  const ins = (txid = '100', actor = A, name = 'qw1-1', rowId = 'r1'): QueueOutboxRow => ({ op: 'INSERT', rowId, name, actor, txid });
  const upd = (txid = '101', actor = A, name = 'qw1-2', rowId = 'r1'): QueueOutboxRow => ({ op: 'UPDATE', rowId, name, actor, txid });
  const del = (txid = '102', actor = A, rowId = 'r1'): QueueOutboxRow => ({ op: 'DELETE', rowId, name: null, actor, txid });
  type Want = Partial<Pick<ReturnType<typeof checkQueueWrites>, 'appliedOnce' | 'twice' | 'lost' | 'refused' | 'refusedApplied' | 'unsettled' | 'txidDiffering' | 'unintended'>>;
  const zero = { appliedOnce: 0, twice: 0, lost: 0, refused: 0, refusedApplied: 0, unsettled: 0, txidDiffering: 0, unintended: 0 };
  test.each<{ name: string; intended: IntendedWrite[]; outbox: QueueOutboxRow[]; want: Want }>([
    { name: 'a create applied once', intended: [create('succeeded')], outbox: [ins()], want: { appliedOnce: 1 } },
    { name: 'a create applied once, its row deleted since by someone else', intended: [create('succeeded')], outbox: [ins(), del('300', 'chaos-writer-1')], want: { appliedOnce: 1 } },
    { name: 'a create applied twice (a retry not recognised)', intended: [create('succeeded')], outbox: [ins('100'), ins('105')], want: { twice: 1 } },
    { name: 'a create the queue says succeeded, not in the outbox', intended: [create('succeeded')], outbox: [], want: { lost: 1 } },
    { name: 'an update applied once, the row updated since by a SQL writer keeping the name', intended: [update('succeeded')], outbox: [upd(), upd('200', 'chaos-writer-2')], want: { appliedOnce: 1 } },
    { name: 'an update applied twice', intended: [update('succeeded')], outbox: [upd('101'), upd('103')], want: { twice: 1 } },
    { name: 'an update only another client wrote with that name is lost', intended: [update('succeeded')], outbox: [upd('101', B)], want: { lost: 1, unintended: 1 } },
    { name: 'an update refused (404) and absent', intended: [update('refused', { status: 404, txid: undefined })], outbox: [], want: { refused: 1 } },
    { name: 'an update refused, yet applied', intended: [update('refused', { status: 404, txid: undefined })], outbox: [upd()], want: { refusedApplied: 1 } },
    { name: 'a conflict resolved by taking theirs, absent', intended: [update('dropped', { txid: undefined })], outbox: [], want: { refused: 1 } },
    { name: 'a conflict resolved by taking theirs, yet applied', intended: [update('dropped', { txid: undefined })], outbox: [upd()], want: { refusedApplied: 1 } },
    { name: 'a delete applied once', intended: [remove('succeeded')], outbox: [del()], want: { appliedOnce: 1 } },
    { name: 'a delete that succeeded, the only DELETE being a cascade by another actor', intended: [remove('succeeded')], outbox: [del('400', 'chaos-writer-3')], want: { lost: 1 } },
    { name: 'a delete refused (404: a SQL writer deleted the row first)', intended: [remove('refused', { status: 404, txid: undefined })], outbox: [del('400', 'chaos-writer-3')], want: { refused: 1 } },
    { name: 'a pending write is unsettled, applied or not', intended: [create('pending', { txid: undefined }), update('pending', { txid: undefined })], outbox: [ins()], want: { unsettled: 2 } },
    { name: 'a pending write applied twice is also twice', intended: [remove('pending', { txid: undefined })], outbox: [del('1'), del('2')], want: { unsettled: 1, twice: 1 } },
    { name: 'applied once under another txid than answered', intended: [create('succeeded', { txid: '99' })], outbox: [ins('100')], want: { appliedOnce: 1, txidDiffering: 1 } },
    { name: 'an answer without a txid is not compared', intended: [create('succeeded', { txid: undefined })], outbox: [ins('100')], want: { appliedOnce: 1 } },
    { name: 'an outbox row of a queue client that no write accounts for', intended: [create('succeeded')], outbox: [ins(), upd('107', A, 'qw1-9')], want: { appliedOnce: 1, unintended: 1 } },
    {
      name: 'a row\'s life: created, updated twice, deleted, each once',
      intended: [create('succeeded'), update('succeeded'), update('succeeded', { id: 'e4', marker: 'qw1-3', txid: '104' }), remove('succeeded')],
      outbox: [ins(), upd(), upd('104', A, 'qw1-3'), del()],
      want: { appliedOnce: 4 },
    },
  ])('$name', ({ intended, outbox, want }) => {
    const f = checkQueueWrites(intended, outbox, [A, B]);
    const { appliedOnce, twice, lost, refused, refusedApplied, unsettled, txidDiffering, unintended } = f;
    expect({ appliedOnce, twice, lost, refused, refusedApplied, unsettled, txidDiffering, unintended }).toEqual({ ...zero, ...want });
    expect(f.intended).toBe(intended.length);
    const clean = Object.entries(want).every(([k, n]) => k === 'appliedOnce' || k === 'refused' || n === 0);
    expect(f.problems.length === 0).toBe(clean);
  });

  test('counts by kind and refusals by status, and names the first problem', () => {
    const f = checkQueueWrites(
      [create('succeeded'), update('refused', { status: 404, txid: undefined }), update('dropped', { id: 'e5', marker: 'qw1-5', txid: undefined }), remove('refused', { status: 403, txid: undefined })],
      [ins('100'), ins('101')],
      [A],
    );
    expect(f.byKind).toEqual({ create: 1, update: 2, delete: 1 });
    expect(f.refusals).toEqual({ '404': 1, '403': 1, dropped: 1 });
    expect(f.problems[0]).toBe('create e1 of row r1 by chaos-queue-1@chaos.test: applied 2 times (txids 100, 101); the queue says succeeded');
  });

  test('rows of other actors are not the clients\' to account for', () => {
    const f = checkQueueWrites([], [ins('1', 'chaos-writer-1'), upd('2', null as never), del('3', B)], [A]);
    expect(f.unintended).toBe(0);
    expect(f.problems).toEqual([]);
  });

  test('a create whose INSERT carries another name is a problem', () => {
    expect(checkQueueWrites([create('succeeded')], [ins('100', A, 'other')], [A]).problems).toEqual(['create e1 of row r1 by chaos-queue-1@chaos.test: its INSERT carries name other, not qw1-1']);
  });
});
