import { describe, expect, test } from 'vitest';
import type { WriteEntry } from '@realtime/client';
import { overlay } from './overlay';

const entry = (e: Partial<WriteEntry> & Pick<WriteEntry, 'kind' | 'rowId' | 'state'>): WriteEntry => ({
  id: `w-${e.rowId}-${e.kind}-${e.state}`,
  resource: 'projects',
  attempts: 0,
  createdAt: Date.UTC(2026, 0, 1),
  ...e,
});
const server = [
  { id: 'a', name: 'A', version: 3 },
  { id: 'b', name: 'B', version: 1 },
];

describe('overlay: queued writes over the server rows', () => {
  const cases: [string, WriteEntry[], { ids: string[]; names: string[]; marks: Record<string, string> }][] = [
    ['nothing queued: the rows as they are', [], { ids: ['a', 'b'], names: ['A', 'B'], marks: {} }],
    ['a create waiting: on top, marked', [entry({ kind: 'create', rowId: 'n', state: 'queued', body: { id: 'n', name: 'New' } })], { ids: ['n', 'a', 'b'], names: ['New', 'A', 'B'], marks: { n: 'create:queued' } }],
    ['a create the stream brought already: not twice', [entry({ kind: 'create', rowId: 'a', state: 'sent', body: { id: 'a', name: 'A' } })], { ids: ['a', 'b'], names: ['A', 'B'], marks: { a: 'create:sent' } }],
    ['a refused create: rolled back', [entry({ kind: 'create', rowId: 'n', state: 'failed', body: { name: 'Bad' }, error: { status: 400, message: 'name: too long' } })], { ids: ['a', 'b'], names: ['A', 'B'], marks: {} }],
    ['an update waiting: the new value, marked', [entry({ kind: 'update', rowId: 'b', state: 'sending', body: { name: 'B2' } })], { ids: ['a', 'b'], names: ['A', 'B2'], marks: { b: 'update:sending' } }],
    ['an update in conflict: the server value, marked conflict', [entry({ kind: 'update', rowId: 'a', state: 'conflict', body: { name: 'Mine' } })], { ids: ['a', 'b'], names: ['A', 'B'], marks: { a: 'update:conflict' } }],
    ['a delete waiting: still listed, marked', [entry({ kind: 'delete', rowId: 'a', state: 'queued' })], { ids: ['a', 'b'], names: ['A', 'B'], marks: { a: 'delete:queued' } }],
    ['a write of a row not in this list: nothing', [entry({ kind: 'update', rowId: 'zz', state: 'queued', body: { name: 'Z' } })], { ids: ['a', 'b'], names: ['A', 'B'], marks: {} }],
    ['a confirmed write: nothing to lay over', [entry({ kind: 'update', rowId: 'a', state: 'confirmed', body: { name: 'Old' } })], { ids: ['a', 'b'], names: ['A', 'B'], marks: {} }],
    [
      'a create then a rename of it, both queued',
      [entry({ kind: 'create', rowId: 'n', state: 'queued', body: { id: 'n', name: 'New' } }), entry({ kind: 'update', rowId: 'n', state: 'queued', body: { name: 'Renamed' } })],
      { ids: ['n', 'a', 'b'], names: ['Renamed', 'A', 'B'], marks: { n: 'update:queued' } },
    ],
    [
      'a conflict outweighs a later queued write of the same row',
      [entry({ kind: 'update', rowId: 'a', state: 'conflict', body: { name: 'X' } }), entry({ kind: 'update', rowId: 'a', state: 'queued', body: { name: 'Y' } })],
      { ids: ['a', 'b'], names: ['Y', 'B'], marks: { a: 'update:conflict' } },
    ],
    ['another resource: nothing', [entry({ kind: 'update', rowId: 'a', state: 'queued', resource: 'data-layers', body: { name: 'L' } })], { ids: ['a', 'b'], names: ['A', 'B'], marks: {} }],
  ];
  test.each(cases)('%s', (_name, entries, want) => {
    const { items, marks } = overlay(server, entries, 'projects');
    expect(items.map((r) => r.id)).toEqual(want.ids);
    expect(items.map((r) => r.name)).toEqual(want.names);
    expect(Object.fromEntries([...marks].map(([id, m]) => [id, `${m.kind}:${m.state}`]))).toEqual(want.marks);
  });

  test('a create is laid over only the lists it belongs in', () => {
    const e = [entry({ kind: 'create', rowId: 'j', state: 'queued', resource: 'extraction-jobs', body: { projectId: 'p1', documentName: 'x.pdf' } })];
    expect(overlay<{ id: string }>([], e, 'extraction-jobs', (r) => r.projectId === 'p1').items.map((r) => r.id)).toEqual(['j']);
    expect(overlay([], e, 'extraction-jobs', (r) => r.projectId === 'p2').items).toEqual([]);
  });

  test('a row that exists only in the queue says so, whatever write came last', () => {
    const { marks } = overlay(server, [entry({ kind: 'create', rowId: 'n', state: 'sent', body: { name: 'N' } }), entry({ kind: 'update', rowId: 'n', state: 'queued', body: { name: 'M' } }), entry({ kind: 'update', rowId: 'a', state: 'queued', body: { name: 'Z' } })], 'projects');
    expect(marks.get('n')).toMatchObject({ kind: 'update', created: true });
    expect(marks.get('a')?.created).toBeUndefined();
  });

  test('the server rows are not changed', () => {
    const rows = server.map((r) => ({ ...r }));
    overlay(rows, [entry({ kind: 'update', rowId: 'a', state: 'queued', body: { name: 'Z' } })], 'projects');
    expect(rows).toEqual(server);
  });
});
