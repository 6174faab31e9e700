import { describe, expect, test } from 'vitest';
import type { StreamedTable } from '@realtime/db';
import type { Filter, Grant } from '@realtime/protocol';
import { parseSnapshot, type Cursor, type Principal } from '@realtime/auth';
import type { FeedChange } from '../feed';
import type { Subscription } from '../subscriptions/subscription';
import { apiRows, eventFor, inList, rowVisible, subscriberEvent, subscriberEvents, type Roles } from './event';

const tasks: StreamedTable = {
  name: 'tasks',
  keyColumn: 'id',
  exactColumns: [],
  projectColumn: 'project_id',
  columns: [
    { name: 'id', type: 'uuid' },
    { name: 'project_id', type: 'uuid' },
    { name: 'status', type: 'text' },
  ],
};
const service = (projects: string[]): Principal => ({ kind: 'service', grant: { channels: ['*'], projects } satisfies Grant }) as Principal;
const user = { kind: 'user', userId: 'u' } as Principal;
/** Member of p1 from seq 10 on, of p2 until seq 20. */
const roles: Roles = { roleAt: (p, seq) => (p === 'p1' && seq >= 10 ? 'member' : p === 'p2' && seq < 20 ? 'member' : null) };

describe('rowVisible: who gets a row (its filter, then its grant)', () => {
  const row = { id: 'r', project_id: 'p1', status: 'open' };
  const sub = (filter?: Filter) => ({ table: tasks, filter });
  test.each([
    ['a service token granting every project', sub(), service(['*']), null, 5, row, true],
    ['a service token granting p1', sub(), service(['p1']), null, 5, row, true],
    ['a service token granting p2 only', sub(), service(['p2']), null, 5, row, false],
    ['a member at that seq', sub(), user, roles, 10, row, true],
    ['not yet a member at that seq', sub(), user, roles, 9, row, false],
    ['a member whose history is not loaded', sub(), user, null, 10, row, false],
    ['a member, but the filter wants another status', sub({ status: 'done' }), user, roles, 10, row, false],
    ['a member, the filter matches', sub({ status: 'open' }), user, roles, 10, row, true],
    ['no row (the side of an INSERT that was not there)', sub(), user, roles, 10, null, false],
    ['a row without its project', sub(), user, roles, 10, { id: 'r', project_id: null }, false],
    ['a table of no project, a user', { table: { ...tasks, projectColumn: null }, filter: undefined }, user, roles, 10, row, false],
  ])('%s', (_name, s, principal, r, seq, rowArg, expected) => {
    expect(rowVisible(s, principal, r, seq, rowArg)).toBe(expected);
  });
});

describe('inList: what a list read with a cursor already holds', () => {
  // Read when transaction 105 was still running: 104 was in, 105 and 110 were not.
  const cursor: Pick<Cursor, 'headSeq' | 'snapshot'> = { headSeq: 50, snapshot: parseSnapshot('105:110:105') };
  test.each([
    ['no cursor: nothing', null, 60, '120', false],
    ['at or below its head', cursor, 50, '120', true],
    ['above its head, committed before its snapshot', cursor, 60, '104', true],
    ['above its head, running at its snapshot', cursor, 60, '105', false],
    ['above its head, after its snapshot', cursor, 60, '110', false],
  ])('%s', (_name, c, seq, txid, expected) => {
    expect(inList(c, seq, txid)).toBe(expected);
  });
});

const change = (op: FeedChange['op'], newRow: Record<string, unknown> | null, oldRow: Record<string, unknown> | null): FeedChange => ({
  seq: 60,
  table: 'tasks',
  op,
  newRow,
  oldRow,
  txid: '200',
  committedAt: '2026-01-01T00:00:00.000Z',
  rowBytes: 10,
  fp: 'F60',
});

describe('eventFor: what a subscription gets of a change', () => {
  const open = { id: 'r', project_id: 'p1', status: 'open' };
  const done = { id: 'r', project_id: 'p1', status: 'done' };
  const wantsOpen = (row: Record<string, unknown> | null) => row?.status === 'open';
  test.each([
    ['an INSERT it may see: as is', change('INSERT', open, null), wantsOpen, 'INSERT', { id: 'r', projectId: 'p1', status: 'open' }, null],
    ['an INSERT it may not see: nothing', change('INSERT', done, null), wantsOpen, null, null, null],
    ['an UPDATE that leaves its filter: a DELETE of the old row', change('UPDATE', done, open), wantsOpen, 'DELETE', null, { id: 'r', projectId: 'p1', status: 'open' }],
    ['an UPDATE that enters its filter: an INSERT of the new row', change('UPDATE', open, done), wantsOpen, 'INSERT', { id: 'r', projectId: 'p1', status: 'open' }, null],
    ['an UPDATE inside it: as is', change('UPDATE', open, open), wantsOpen, 'UPDATE', { id: 'r', projectId: 'p1', status: 'open' }, { id: 'r', projectId: 'p1', status: 'open' }],
    ['a DELETE it saw', change('DELETE', null, open), wantsOpen, 'DELETE', null, { id: 'r', projectId: 'p1', status: 'open' }],
  ])('%s', (_name, c, visible, op, row, old) => {
    const e = eventFor({ table: tasks, cursor: null }, c, visible);
    if (op === null) return expect(e).toBeNull();
    expect(e).toEqual({ seq: 60, op, row, old, committedAt: c.committedAt, fp: 'F60', txid: '200' });
  });

  test('a change already in its list (by cursor) is not sent again', () => {
    const cursor = { headSeq: 60, headFp: 'F60', snapshot: parseSnapshot('100:100:'), snapshotText: '100:100:', pending: null } as Cursor;
    expect(eventFor({ table: tasks, cursor }, change('INSERT', open, null), () => true)).toBeNull();
  });

  test('subscriptions that get the same op of a change share one event object (serialized once)', () => {
    const c = change('INSERT', open, null);
    const api = apiRows(tasks, c);
    const a = eventFor({ table: tasks, cursor: null }, c, () => true, api);
    const b = eventFor({ table: tasks, cursor: null }, c, () => true, api);
    expect(a).not.toBeNull();
    expect(b).toBe(a);
  });
});

describe('subscriberEvents: a page at once, as subscriberEvent change by change', () => {
  // A user who joins p1 at seq 10 and leaves p2 at seq 20: each change is judged at its own seq.
  const at = (seq: number, op: FeedChange['op'], project: string, status = 'open'): FeedChange => {
    const row = { id: `r${seq}`, project_id: project, status };
    return { ...change(op, op === 'DELETE' ? null : row, op === 'INSERT' ? null : row), seq, fp: `F${seq}` };
  };
  const page = [at(5, 'INSERT', 'p1'), at(9, 'UPDATE', 'p2'), at(10, 'INSERT', 'p1'), at(15, 'DELETE', 'p2', 'done'), at(20, 'UPDATE', 'p2'), at(25, 'UPDATE', 'p1', 'done')];
  const registry = { membershipOf: () => roles as never };
  const subOf = (principal: Principal, filter?: Filter) => ({ table: tasks, cursor: null, filter, socket: { data: { principal } } }) as unknown as Subscription;
  test.each([
    ['a user, unfiltered', subOf(user)],
    ['a user, filtered on status', subOf(user, { status: 'open' })],
    ['a service token granting p2', subOf(service(['p2']))],
  ])('%s', (_name, sub) => {
    const one = page.map((c) => subscriberEvent(registry, sub, c)).filter((e) => e !== null);
    expect(one.length).toBeGreaterThan(0);
    expect(subscriberEvents(registry, sub, page)).toEqual(one);
  });
});
