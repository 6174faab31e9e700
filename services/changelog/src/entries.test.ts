import { describe, expect, test } from 'vitest';
import { BatchOrderError, checkBatch, checkRetention, decodeEntry, encodeChange, entryId, keepFrom, LogEntryError, planAppend, seqOfEntryId, type LogChange } from './entries';

const change = (seq: number, over: Partial<LogChange> = {}): LogChange => ({
  seq,
  table: 'tasks',
  op: 'UPDATE',
  newRow: { id: 'a', title: 'Ünïcødé ✓', n: '12345678901234567890', tags: ['x'], meta: { deep: { v: 1.5 } } },
  oldRow: { id: 'a', title: 'old' },
  txid: '778',
  committedAt: '2026-12-07T10:00:00.123456Z',
  rowBytes: 120,
  fp: 'f00d',
  ...over,
});

describe('entry IDs', () => {
  test.each([
    [1, '1-0'],
    [42, '42-0'],
    [Number.MAX_SAFE_INTEGER, `${Number.MAX_SAFE_INTEGER}-0`],
  ])('seq %d is %s and back', (seq, id) => {
    expect(entryId(seq)).toBe(id);
    expect(seqOfEntryId(id)).toBe(seq);
  });

  test.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('seq %d has no entry ID', (seq) => {
    expect(() => entryId(seq)).toThrow(/safe integer >= 1/);
  });

  test.each(['0-0', '5-1', '05-0', '5', 'x-0', '', '99999999999999999999-0', '1700000000000-0 '])('%j is not a seq entry ID', (id) => {
    expect(seqOfEntryId(id)).toBeNull();
  });
});

describe('encodeChange / decodeEntry', () => {
  test('round trip keeps row images exactly and leaves the outbox fields out', () => {
    const stamped = { ...change(7, { op: 'INSERT', oldRow: null }), id: 99, rowId: 'a', actor: 'u1' };
    const c = encodeChange(stamped);
    expect(JSON.parse(c)).not.toHaveProperty('id');
    expect(JSON.parse(c)).not.toHaveProperty('actor');
    expect(JSON.parse(c)).not.toHaveProperty('rowId');
    expect(decodeEntry('k', '7-0', { c })).toEqual(change(7, { op: 'INSERT', oldRow: null }));
  });

  test('a DELETE keeps a null newRow', () => {
    const c = change(3, { op: 'DELETE', newRow: null });
    expect(decodeEntry('k', '3-0', { c: encodeChange(c), t: '1' })).toEqual(c);
  });

  const good = encodeChange(change(5));
  test.each([
    ['an ID that is not <seq>-0', '5-1', { c: good }, /its ID is not <seq>-0/],
    ['no field c', '5-0', { t: '1' }, /has no field c/],
    ['c that is not JSON', '5-0', { c: '{nope' }, /field c is not JSON/],
    ['c that is an array', '5-0', { c: '[1]' }, /not a JSON object/],
    ['a seq other than the ID', '6-0', { c: good }, /seq 5 is not the ID's 6/],
    ['an unknown op', '5-0', { c: good.replace('"UPDATE"', '"UPSERT"') }, /op "UPSERT" is not one of INSERT, UPDATE, DELETE/],
    ['a row that is a string', '5-0', { c: good.replace('"oldRow":{"id":"a","title":"old"}', '"oldRow":"x"') }, /oldRow is not an object or null/],
    ['a numeric txid', '5-0', { c: good.replace('"txid":"778"', '"txid":778') }, /txid is not a string/],
    ['no fp', '5-0', { c: good.replace(',"fp":"f00d"', '') }, /fp is not a string/],
  ])('%s is named with the key and ID', (_name, id, fields, problem) => {
    let err: unknown;
    try {
      decodeEntry('realtime:log:e1', id, fields);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LogEntryError);
    expect((err as Error).message).toMatch(problem);
    expect((err as Error).message).toContain(`entry ${id} of realtime:log:e1`);
  });
});

describe('checkBatch', () => {
  test.each([[[]], [[1]], [[4, 5, 6]]])('%j is a dense run', (seqs) => {
    expect(() => checkBatch(seqs)).not.toThrow();
  });
  test.each([
    [[4, 6], /seq 6 at index 1 does not follow 4/],
    [[5, 4], /seq 4 at index 1 does not follow 5/],
    [[5, 5], /seq 5 at index 1 does not follow 5/],
    [[0], /seq at index 0 is 0/],
    [[1, 2.5], /seq at index 1 is 2.5/],
  ])('%j is refused', (seqs, message) => {
    expect(() => checkBatch(seqs)).toThrow(BatchOrderError);
    expect(() => checkBatch(seqs)).toThrow(message);
  });
});

describe('planAppend', () => {
  test.each([
    ['an empty stream takes any start', null, [10, 11, 12], { kind: 'append', skip: 0, append: 3 }],
    ['a batch that follows on', 9, [10, 11], { kind: 'append', skip: 0, append: 2 }],
    ['an overlapping batch skips what is there', 11, [10, 11, 12, 13], { kind: 'append', skip: 2, append: 2 }],
    ['a batch wholly there is all skipped', 20, [10, 11, 12], { kind: 'append', skip: 3, append: 0 }],
    ['a batch ending at last is all skipped', 12, [10, 11, 12], { kind: 'append', skip: 3, append: 0 }],
    ['a batch after a hole is a gap', 9, [11, 12], { kind: 'gap', gapAfter: 9 }],
    ['an empty batch does nothing', 9, [], { kind: 'append', skip: 0, append: 0 }],
  ] as const)('%s', (_name, last, seqs, want) => {
    expect(planAppend(last, seqs)).toEqual(want);
  });

  test('a batch with a hole of its own is the caller’s error', () => {
    expect(() => planAppend(3, [4, 6])).toThrow(BatchOrderError);
  });
});

describe('checkRetention', () => {
  test.each([
    [{ maxLen: 100 }, { maxLen: 100, minAgeMs: null }],
    [{ minAgeMs: 0 }, { maxLen: null, minAgeMs: 0 }],
    [{ maxLen: 1, minAgeMs: 60_000 }, { maxLen: 1, minAgeMs: 60_000 }],
  ])('%j', (r, want) => {
    expect(checkRetention(r)).toEqual(want);
  });
  test.each([
    [{}, /needs maxLen, minAgeMs or both/],
    [{ maxLen: 0 }, /maxLen is a whole number >= 1, not 0/],
    [{ maxLen: 2.5 }, /maxLen is a whole number >= 1, not 2.5/],
    [{ minAgeMs: -1 }, /minAgeMs is a whole number of milliseconds >= 0, not -1/],
  ])('%j is refused', (r, message) => {
    expect(() => checkRetention(r)).toThrow(message);
  });
});

describe('keepFrom', () => {
  test.each([
    // first, last, maxLen, youngFrom, want
    ['under maxLen: nothing', 1, 10, 20, null, null],
    ['maxLen alone', 1, 100, 10, null, 91],
    ['exactly maxLen: nothing', 91, 100, 10, null, null],
    ['age alone', 1, 100, null, 40, 40],
    ['age alone, everything young: nothing', 1, 100, null, 1, null],
    ['age alone, everything old: the newest stays', 1, 100, null, 100, 100],
    ['both: the young beyond maxLen stay', 1, 100, 10, 50, 50],
    ['both: the newest maxLen stay though old', 1, 100, 10, 100, 91],
    ['neither', 1, 100, null, null, null],
  ])('%s', (_name, first, last, maxLen, youngFrom, want) => {
    expect(keepFrom(first, last, maxLen, youngFrom)).toBe(want);
  });
});
