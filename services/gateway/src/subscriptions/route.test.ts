import { describe, expect, test } from 'vitest';
import { matchesFilter, route, type RawChange } from './route';

const A = { id: 'j1', project_id: 'A', status: 'queued', progress: 0 };
const A2 = { ...A, status: 'processing', progress: 40 };
const B = { ...A, project_id: 'B' };

describe('matchesFilter', () => {
  test.each([
    ['no filter', A, undefined, true],
    ['equal string', A, { project_id: 'A' }, true],
    ['other value', A, { project_id: 'B' }, false],
    ['two columns, both equal', A, { project_id: 'A', status: 'queued' }, true],
    ['two columns, one differs', A, { project_id: 'A', status: 'completed' }, false],
    ['number', A2, { progress: 40 }, true],
    ['number given as text', A2, { progress: '40' }, true],
    ['null wanted, null present', { ...A, error: null }, { error: null }, true],
    ['null wanted, column missing', A, { error: null }, true],
    ['value wanted, column null', { ...A, error: null }, { error: 'x' }, false],
    ['unknown column', A, { nope: 'x' }, false],
    ['object column never equals', { ...A, metadata: { a: 1 } }, { metadata: '[object Object]' }, false],
    ['no row', null, {}, false],
  ] as const)('%s', (_name, row, filter, expected) => {
    expect(matchesFilter(row, filter as never)).toBe(expected);
  });
});

describe('route', () => {
  const inA = (row: Record<string, unknown> | null) => matchesFilter(row, { project_id: 'A' });
  const change = (op: RawChange['op'], newRow: object | null, oldRow: object | null): RawChange => ({ op, newRow: newRow as never, oldRow: oldRow as never });
  test.each([
    ['insert into the filter', change('INSERT', A, null), { op: 'INSERT', row: A, old: null }],
    ['insert elsewhere', change('INSERT', B, null), null],
    ['update inside', change('UPDATE', A2, A), { op: 'UPDATE', row: A2, old: A }],
    ['update elsewhere', change('UPDATE', B, B), null],
    ['move out is a DELETE of the old row', change('UPDATE', B, A), { op: 'DELETE', row: null, old: A }],
    ['move in is an INSERT of the new row', change('UPDATE', A, B), { op: 'INSERT', row: A, old: null }],
    ['delete filters on the old row', change('DELETE', null, A), { op: 'DELETE', row: null, old: A }],
    ['delete elsewhere', change('DELETE', null, B), null],
  ] as const)('%s', (_name, c, expected) => {
    expect(route(c, inA)).toEqual(expected);
  });
});
