import { describe, expect, test } from 'vitest';
import { countQuery, diffRows, listQuery, OUTBOX_COUNT_CAP, parseDuration, parseRetention, renderTable } from './parse';

describe('parseDuration', () => {
  test.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  test.each(['', '30', 'd', '1.5d', '-1d', '3 months'])('"%s" is refused with an example', (text) => {
    expect(() => parseDuration(text)).toThrow(/not a duration.*30d/);
  });
});

describe('parseRetention', () => {
  test.each([
    ['30d', 2_592_000_000],
    ['12h', 43_200_000],
    [' 2w ', 1_209_600_000],
    ['forever', null],
  ])('%s', (text, ms) => expect(parseRetention(text)).toBe(ms));
  test.each(['', 'off', 'never', 'Forever', '30 days', '-1d'])('"%s" is refused, naming both forms', (text) => {
    expect(() => parseRetention(text)).toThrow(/not a duration.*30d.*or "forever"/);
  });
});

describe('diffRows', () => {
  test.each([
    ['insert: every column from null', null, { id: 'a', n: 1 }, [{ column: 'id', from: null, to: 'a' }, { column: 'n', from: null, to: 1 }]],
    ['update: only what changed', { id: 'a', n: 1, m: { x: 1 } }, { id: 'a', n: 2, m: { x: 1 } }, [{ column: 'n', from: 1, to: 2 }]],
    ['nested json compared by value', { m: { x: 1 } }, { m: { x: 2 } }, [{ column: 'm', from: { x: 1 }, to: { x: 2 } }]],
    ['delete: every column to null', { id: 'a' }, null, [{ column: 'id', from: 'a', to: null }]],
    ['no change', { id: 'a' }, { id: 'a' }, []],
  ] as const)('%s', (_n, before, after, expected) => {
    expect(diffRows(before as never, after as never)).toEqual(expected);
  });
});

describe('listQuery', () => {
  test('no filter: newest first with limit and the byte budget as parameters, no offset', () => {
    const q = listQuery({ limit: 10 }, 1024);
    expect(q.text).not.toMatch(/change_outbox WHERE/);
    expect(q.text).not.toMatch(/OFFSET/);
    // Sizes are summed over the LIMITed ids and row_bytes; the full rows are joined after.
    expect(q.text).toMatch(/SELECT id, row_bytes FROM change_outbox\s+ORDER BY id DESC LIMIT \$1 \+ 1\)/);
    expect(q.text).toMatch(/sum\(row_bytes\) OVER w/);
    expect(q.text).toMatch(/WHERE s\.n <= \$1 AND \(s\.n = 1 OR s\.running <= \$2\)/);
    expect(q.values).toEqual([10, 1024]);
  });
  test('a page position is a keyset condition on the id', () => {
    const q = listQuery({ table: 'projects', limit: 5, before: 900 }, 1024);
    expect(q.text).toMatch(/WHERE table_name = \$1 AND id < \$2\s+ORDER BY id DESC LIMIT \$3 \+ 1\)/);
    expect(q.values).toEqual(['projects', 900, 5, 1024]);
  });
  test('every filter is a parameter, never text in the SQL', () => {
    const since = new Date('2026-01-01T00:00:00Z');
    const q = listQuery({ table: "projects'; drop table x; --", op: 'UPDATE', rowId: 'r1', actor: 'alice', fromSeq: 5, toSeq: 9, since, limit: 1 }, 4096);
    expect(q.text).toMatch(/table_name = \$1 AND op = \$2 AND row_id = \$3 AND actor = \$4 AND seq >= \$5 AND seq <= \$6 AND created_at >= \$7/);
    expect(q.text).not.toMatch(/drop table/);
    expect(q.values).toEqual(["projects'; drop table x; --", 'UPDATE', 'r1', 'alice', 5, 9, since, 1, 4096]);
  });
  test('the count takes the filters but not the position, and stops one past its cap', () => {
    const q = countQuery({ op: 'DELETE', limit: 5, before: 10 }, 100);
    expect(q.text).toBe('SELECT count(*)::int AS n FROM (SELECT 1 FROM change_outbox WHERE op = $1 LIMIT $2) c');
    expect(q.values).toEqual(['DELETE', 101]);
    expect(countQuery({ limit: 5 }).values).toEqual([OUTBOX_COUNT_CAP + 1]);
  });
});

test('renderTable pads columns and shortens long cells', () => {
  const out = renderTable([{ seq: 1, op: 'INSERT', row: 'x'.repeat(60) }], ['seq', 'op', 'row']);
  const lines = out.split('\n');
  expect(lines[0]).toMatch(/^seq  op\s+row$/);
  expect(lines[2]).toMatch(/^1    INSERT  x{45}\.\.\.$/);
});
