import { describe, expect, test } from 'vitest';
import { columnFilter } from './filter';

const invoices = {
  name: 'invoices',
  columns: [
    { name: 'id', type: 'uuid' },
    { name: 'project_id', type: 'uuid' },
    { name: 'amount', type: 'numeric' },
    { name: 'created_at', type: 'timestamp with time zone' },
  ],
};

describe('columnFilter', () => {
  test.each([
    ['no filter', undefined, undefined],
    ['a field as the API names it', { projectId: 'p1' }, { project_id: 'p1' }],
    ['a column name, as older clients send', { project_id: 'p1' }, { project_id: 'p1' }],
    ['a one-word field is its column', { amount: '12.5', id: 'x' }, { amount: '12.5', id: 'x' }],
    ['null and numbers stay', { createdAt: null, amount: 3 }, { created_at: null, amount: 3 }],
  ])('%s', (_name, filter, expected) => {
    expect(columnFilter(invoices, filter)).toEqual({ ok: true, filter: expected });
  });

  test('an unknown field is refused by name, with the fields there are', () => {
    expect(columnFilter(invoices, { projectId: 'p1', owner: 'x' })).toEqual({
      ok: false,
      message: 'unknown column "owner" in filter on invoices: a filter names the row\'s fields (id, projectId, amount, createdAt) or their column names',
    });
  });

  test('a field in another casing is unknown', () => {
    expect(columnFilter(invoices, { ProjectId: 'p1' })).toMatchObject({ ok: false });
  });

  test('one column named twice is refused', () => {
    expect(columnFilter(invoices, { projectId: 'p1', project_id: 'p2' })).toMatchObject({ ok: false, message: expect.stringMatching(/names project_id twice/) });
  });
});
