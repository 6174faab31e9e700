import { describe, expect, test } from 'vitest';
import { rng } from './rng';
import { chooseOp, statement, tables } from './workload';

describe('chooseOp', () => {
  test.each([
    { name: 'at the cap: delete only', count: 200, cap: 200, only: ['delete'] },
    { name: 'over the cap: delete only', count: 250, cap: 200, only: ['delete'] },
    { name: 'nearly empty: never delete', count: 10, cap: 200, only: ['insert', 'update', 'move'] },
    { name: 'in between: every operation', count: 100, cap: 200, only: ['insert', 'update', 'move', 'delete'] },
  ])('$name', ({ count, cap, only }) => {
    const r = rng(9);
    const seen = new Set(Array.from({ length: 500 }, () => chooseOp(r, count, cap)));
    expect([...seen].sort()).toEqual([...only].sort());
  });
});

describe('statement', () => {
  test('every table and operation has a statement; pinned projects are never deleted', () => {
    const r = rng(1);
    for (const t of tables) {
      for (const op of ['insert', 'update', 'move', 'delete'] as const) {
        const { sql, params } = statement(t, op, r, ['p1']);
        expect(sql, `${t} ${op}`).toMatch(op === 'insert' ? /^INSERT INTO / : op === 'delete' ? /^DELETE FROM / : /^UPDATE /);
        expect(sql).toContain(t);
        if (t === 'projects' && op === 'delete') expect(params).toEqual([['p1']]);
      }
    }
  });
});
