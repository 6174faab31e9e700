import { describe, expect, test } from 'vitest';
import type { LoggedChange } from '../feed';
import { ReplayRing } from './ring';

const change = (seq: number, rowBytes = 10, project = 'p1'): LoggedChange => ({
  seq,
  table: 'extraction_jobs',
  op: 'INSERT',
  newRow: { id: `j${seq}`, project_id: project },
  oldRow: null,
  txid: '1',
  committedAt: '2026-01-01T00:00:00.000Z',
  rowBytes,
  fp: 'f',
});
const batch = (from: number, to: number, rowBytes = 10) => Array.from({ length: to - from + 1 }, (_, i) => change(from + i, rowBytes));

function ring(bounds: { changes: number; bytes: number }, position: number, ...batches: LoggedChange[][]): ReplayRing {
  const r = new ReplayRing(bounds, position);
  for (const b of batches) r.push(b);
  return r;
}

describe('what the ring holds', () => {
  const big = { changes: 1000, bytes: 1e9 };
  const cases: [string, ReplayRing, { first: number; position: number; size: number; bytes: number }][] = [
    ['empty at its start', ring(big, 7), { first: 8, position: 7, size: 0, bytes: 0 }],
    ['batches in order', ring(big, 0, batch(1, 3), batch(4, 5)), { first: 1, position: 5, size: 5, bytes: 50 }],
    ['the count bound drops the oldest', ring({ changes: 3, bytes: 1e9 }, 0, batch(1, 5)), { first: 3, position: 5, size: 3, bytes: 30 }],
    ['the byte bound drops the oldest', ring({ changes: 100, bytes: 25 }, 0, batch(1, 5)), { first: 4, position: 5, size: 2, bytes: 20 }],
    ['a change larger than the byte bound is not held', ring({ changes: 100, bytes: 25 }, 0, batch(1, 2), [change(3, 99)]), { first: 4, position: 3, size: 0, bytes: 0 }],
    ['a zero-sized ring holds nothing but follows the position', ring({ changes: 0, bytes: 1e9 }, 0, batch(1, 4)), { first: 5, position: 4, size: 0, bytes: 0 }],
    ['a batch that does not follow on starts the ring over', ring(big, 0, batch(1, 3), batch(8, 9)), { first: 8, position: 9, size: 2, bytes: 20 }],
    ['many drops: compacted, still in order', ring({ changes: 10, bytes: 1e9 }, 0, batch(1, 3000), batch(3001, 3005)), { first: 2996, position: 3005, size: 10, bytes: 100 }],
  ];
  for (const [name, r, expected] of cases) test(name, () => expect({ first: r.first, position: r.position, size: r.size, bytes: r.bytes }).toEqual(expected));
});

describe('covers(after): every change in (after, position] held', () => {
  const r = ring({ changes: 5, bytes: 1e9 }, 0, batch(1, 10));
  const cases: [number, boolean][] = [
    [4, false],
    [5, true],
    [9, true],
    [10, true],
    [11, false],
    [-1, false],
    [5.5, false],
  ];
  for (const [after, expected] of cases) test(`after ${after}: ${expected}`, () => expect(r.covers(after)).toBe(expected));
  test('an empty ring covers only its position', () => {
    const e = ring({ changes: 5, bytes: 1e9 }, 42);
    expect([e.covers(41), e.covers(42), e.covers(43)]).toEqual([false, true, false]);
  });
});

describe('slice(after, upTo, limit, maxBytes)', () => {
  const r = ring({ changes: 100, bytes: 1e9 }, 0, batch(1, 20), [change(21, 10, 'p2'), change(22, 10, 'p2')]);
  const view = (p: ReturnType<ReplayRing['slice']>) => ({ seqs: p.changes.map((c) => c.seq), more: p.more, through: p.through });
  const cases: [string, ReturnType<typeof view>, { seqs: number[]; more: boolean; through: number }][] = [
    ['a range within', view(r.slice(3, 6, 100, 1e6)), { seqs: [4, 5, 6], more: false, through: 6 }],
    ['limit', view(r.slice(0, 22, 4, 1e6)), { seqs: [1, 2, 3, 4], more: true, through: 4 }],
    ['bytes', view(r.slice(10, 22, 100, 30)), { seqs: [11, 12, 13], more: true, through: 13 }],
    ['upTo past the position: up to it, more to read elsewhere', view(r.slice(18, 30, 100, 1e6)), { seqs: [19, 20, 21, 22], more: true, through: 22 }],
    ['at the position: nothing, more beyond', view(r.slice(22, 30, 100, 1e6)), { seqs: [], more: true, through: 22 }],
    ['picked by a predicate', view(r.slice(0, 22, 100, 1e6, (c) => c.newRow?.project_id === 'p2')), { seqs: [21, 22], more: false, through: 22 }],
  ];
  for (const [name, got, expected] of cases) test(name, () => expect(got).toEqual(expected));

  test('a range the ring does not cover is refused by name', () => {
    const small = ring({ changes: 3, bytes: 1e9 }, 0, batch(1, 10));
    expect(() => small.slice(2, 10, 100, 1e6)).toThrow(/holds seqs 8\.\.10, not every one after 2/);
  });
});
