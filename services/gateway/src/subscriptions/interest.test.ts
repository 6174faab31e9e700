import { describe, expect, test } from 'vitest';
import type { Filter } from '@realtime/protocol';
import { InterestIndex, filedUnder, keyOf } from './interest';
import { matchesFilter, route, type DbRow } from './route';

describe('keyOf', () => {
  test.each([
    ['a string', 'p1', 'p1'],
    ['a number', 7, '7'],
    ['a boolean', true, 'true'],
    ['null', null, null],
    ['missing', undefined, null],
    ['an object', { a: 1 }, null],
  ])('%s', (_n, v, k) => expect(keyOf(v)).toBe(k));
});

describe('filedUnder', () => {
  test.each<[string, Filter | undefined, string | null, { column: string; key: string } | null]>([
    ['no filter', undefined, 'project_id', null],
    ['the preferred column', { status: 'done', project_id: 'p1' }, 'project_id', { column: 'project_id', key: 'p1' }],
    ['else the first column by name', { status: 'done', job_id: 'j' }, 'project_id', { column: 'job_id', key: 'j' }],
    ['a null value cannot be filed', { project_id: null }, 'project_id', null],
    ['a null preferred value: another column', { project_id: null, status: 'x' }, 'project_id', { column: 'status', key: 'x' }],
    ['a number is filed by its text', { priority: 3 }, null, { column: 'priority', key: '3' }],
  ])('%s', (_n, filter, preferred, expected) => expect(filedUnder(filter, preferred)).toEqual(expected));
});

interface Sub {
  id: string;
  filter?: Filter;
}

describe('InterestIndex', () => {
  const subs: Sub[] = [
    { id: 'all' },
    { id: 'p1', filter: { project_id: 'p1' } },
    { id: 'p1-done', filter: { project_id: 'p1', status: 'done' } },
    { id: 'p2', filter: { project_id: 'p2' } },
    { id: 'job', filter: { job_id: 'j1' } },
    { id: 'num', filter: { priority: 3 } },
    { id: 'null', filter: { project_id: null } },
  ];
  const index = new InterestIndex<Sub>('project_id');
  for (const s of subs) index.add(s);

  const cases: [string, DbRow | null, DbRow | null, string[]][] = [
    ['an insert in p1: the unfiled and those of p1', { project_id: 'p1', status: 'new' }, null, ['all', 'null', 'p1', 'p1-done']],
    ['a move from p1 to p2: both sides', { project_id: 'p2' }, { project_id: 'p1' }, ['all', 'null', 'p1', 'p1-done', 'p2']],
    ['a delete in p2', null, { project_id: 'p2' }, ['all', 'null', 'p2']],
    ['a row of another project and job', { project_id: 'p9', job_id: 'j9' }, null, ['all', 'null']],
    ['by another column', { project_id: 'p9', job_id: 'j1' }, null, ['all', 'job', 'null']],
    ['a number in the row, the same text as the filter', { priority: '3' }, null, ['all', 'null', 'num']],
    ['the same value before and after: each once', { project_id: 'p1' }, { project_id: 'p1' }, ['all', 'null', 'p1', 'p1-done']],
  ];
  for (const [name, row, old, expected] of cases) {
    test(name, () => expect(index.candidates(row, old).map((s) => s.id).sort()).toEqual(expected.sort()));
  }

  test('never leaves out a subscription that routing would send the change to', () => {
    // Every row shape against every subscription: whatever route() sends, the index offered.
    const values = ['p1', 'p2', null, undefined, 3, '3', { x: 1 }];
    const rows: (DbRow | null)[] = [null];
    for (const project_id of values) for (const priority of values) rows.push({ project_id, priority, job_id: 'j1', status: 'done' });
    for (const row of rows) {
      for (const old of rows) {
        const op = row && old ? 'UPDATE' : row ? 'INSERT' : old ? 'DELETE' : null;
        if (!op) continue;
        const offered = new Set(index.candidates(row, old));
        for (const s of subs) {
          if (route({ op, newRow: row, oldRow: old }, (r) => matchesFilter(r, s.filter))) expect(offered.has(s), `${s.id} for ${JSON.stringify([row, old])}`).toBe(true);
        }
      }
    }
  });

  test('removing subscriptions empties the index; a removed one is never offered', () => {
    const i = new InterestIndex<Sub>('project_id');
    const a = { id: 'a', filter: { project_id: 'p1' } };
    const b = { id: 'b' };
    i.add(a);
    i.add(b);
    i.add(a);
    expect(i.size).toBe(2);
    i.delete(a);
    i.delete(a);
    expect(i.candidates({ project_id: 'p1' }, null)).toEqual([b]);
    i.delete(b);
    expect(i.size).toBe(0);
    expect([...i]).toEqual([]);
    expect((i as unknown as { byColumn: Map<string, unknown> }).byColumn.size).toBe(0);
  });

  test('10,000 subscriptions on 10,000 projects: a change is offered to the one that matches', () => {
    const i = new InterestIndex<Sub>('project_id');
    for (let n = 0; n < 10_000; n++) i.add({ id: `s${n}`, filter: { project_id: `p${n}` } });
    expect(i.candidates({ project_id: 'p1234' }, null).map((s) => s.id)).toEqual(['s1234']);
  });
});
