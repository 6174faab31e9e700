import { describe, expect, test } from 'vitest';
import type { StampedChange } from '@realtime/db';
import { decideReconcile, denseRuns, lagOf, lookVerdict, overflows, toLogChange, type ReconcileDecision, type ReconcileInput } from './plan';

describe('toLogChange', () => {
  test('keeps the fields of the log and leaves out the outbox id, row id and actor', () => {
    const c: StampedChange = {
      id: 912,
      seq: 41,
      table: 'tasks',
      op: 'UPDATE',
      rowId: 'r-1',
      newRow: { id: 'r-1', title: 'new' },
      oldRow: { id: 'r-1', title: 'old' },
      txid: '7781',
      actor: 'user-9',
      committedAt: '2026-12-07T10:00:00.123Z',
      rowBytes: 88,
      fp: 'abcdefghijkl',
    };
    expect(toLogChange(c)).toStrictEqual({ seq: 41, table: 'tasks', op: 'UPDATE', newRow: c.newRow, oldRow: c.oldRow, txid: '7781', committedAt: c.committedAt, rowBytes: 88, fp: 'abcdefghijkl' });
  });
});

describe('denseRuns', () => {
  test.each<[string, number[], number[][]]>([
    ['nothing', [], []],
    ['one dense run', [4, 5, 6], [[4, 5, 6]]],
    ['a hole (a change kept back by the worker thread)', [4, 5, 7, 8], [[4, 5], [7, 8]]],
    ['two holes', [1, 3, 6], [[1], [3], [6]]],
    ['a seq handed on twice is dropped', [4, 5, 5, 6], [[4, 5, 6]]],
    ['a seq going back is dropped', [4, 5, 3, 6], [[4, 5, 6]]],
  ])('%s', (_, seqs, want) => {
    expect(denseRuns(seqs.map((seq) => ({ seq }))).map((r) => r.map((c) => c.seq))).toEqual(want);
  });
});

describe('decideReconcile', () => {
  const base: ReconcileInput = { last: { seq: 100, fp: 'F100' }, rowFp: 'F100', head: 100, ownLast: null, pageSize: 1000 };
  test.each<[string, Partial<ReconcileInput>, ReconcileDecision['kind'], Partial<ReconcileDecision>?]>([
    ['at the head, same fingerprint', {}, 'same'],
    ['behind the head, same history: fill the gap', { head: 250 }, 'fill', { after: 100, to: 250 }],
    ['empty stream, empty outbox', { last: null, rowFp: null, head: 0 }, 'same'],
    ['empty stream: the head page', { last: null, rowFp: null, head: 5000 }, 'fill', { after: 4000, to: 5000 }],
    ['empty stream, a short history: from the start', { last: null, rowFp: null, head: 40 }, 'fill', { after: 0, to: 40 }],
    ['another fingerprint at the last seq: another history', { rowFp: 'OTHER', head: 300 }, 'new-epoch'],
    ['no outbox row at the last seq: another database, or pruned', { rowFp: null, head: 300 }, 'new-epoch'],
    ['beyond the head, written by this appender (early delivery)', { last: { seq: 120, fp: 'F120' }, rowFp: null, ownLast: 120 }, 'ahead'],
    ['beyond the head, not ours: a restore took its end away (or a deposed leader appended early)', { last: { seq: 120, fp: 'F120' }, rowFp: null }, 'new-epoch'],
    ['beyond the head, ours only up to a lower seq', { last: { seq: 120, fp: 'F120' }, rowFp: null, ownLast: 110 }, 'new-epoch'],
  ])('%s', (_, over, kind, fields) => {
    const d = decideReconcile({ ...base, ...over });
    expect(d.kind).toBe(kind);
    if (fields) expect(d).toMatchObject(fields);
    if (d.kind === 'new-epoch') expect(d.reason).toMatch(/seq \d+/);
  });
});

describe('overflows', () => {
  test.each([
    [0, 10, 10, false],
    [5, 5, 10, false],
    [5, 6, 10, true],
    [0, 11, 10, true],
  ])('%i queued + %i incoming, at most %i: %s', (queued, incoming, max, want) => {
    expect(overflows(queued, incoming, max)).toBe(want);
  });
});

describe('lagOf', () => {
  test.each([
    [100, 90, 10],
    [100, null, 100],
    [100, 120, 0],
    [0, null, 0],
  ])('head %i, last %s: %i', (head, last, want) => {
    expect(lagOf(head, last)).toBe(want);
  });
});

describe('lookVerdict', () => {
  const fill = { kind: 'fill', after: 10, to: 15 } as const;
  test.each([
    ['the log at the head: nothing, and nothing owed', { kind: 'same' } as const, 15, 12, { reconcile: false, owedTo: null }],
    ['ahead with early stamps: nothing', { kind: 'ahead' } as const, 16, null, { reconcile: false, owedTo: null }],
    ['another history: a reconcile now', { kind: 'new-epoch', reason: 'x' } as const, 15, null, { reconcile: true, owedTo: null }],
    ['short of the head for the first time: owed until the next look', fill, 10, null, { reconcile: false, owedTo: 15 }],
    ['short again, but past what the last look saw: owed anew', fill, 10, 9, { reconcile: false, owedTo: 15 }],
    ['still short of what the last look saw: a reconcile', fill, 10, 12, { reconcile: true, owedTo: null }],
    ['an empty stream: a reconcile now', { kind: 'fill', after: 0, to: 15 } as const, null, null, { reconcile: true, owedTo: null }],
  ])('%s', (_, d, lastSeq, owedTo, want) => {
    expect(lookVerdict(d, lastSeq, owedTo)).toEqual(want);
  });
});
