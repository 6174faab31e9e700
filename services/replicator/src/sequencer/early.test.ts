import { describe, expect, test } from 'vitest';
import { fingerprint, fingerprintInput } from '@realtime/db';
import type { Piece } from '../wal/transactions';
import { EARLY_COLUMNS, earlyEligible, numberEarly } from './early';

const row = (id: number, extra: Record<string, unknown> = {}) => ({
  id: String(id),
  table_name: 'projects',
  op: 'INSERT',
  row_id: `r${id}`,
  new_row: { id: `r${id}`, name: 'n' },
  old_row: null,
  txid: '771',
  actor: null,
  row_bytes: 40,
  ...extra,
});
const piece = (ids: number[], over: Partial<Piece> = {}): Piece => ({
  xid: 1,
  ids,
  rows: ids.map((id) => row(id)),
  whole: true,
  commitTime: 1_700_000_000_123_456n,
  commitEnd: '0/100',
  ...over,
});

describe('earlyEligible', () => {
  test.each([
    ['whole transactions committed after the mark', [piece([1, 2]), piece([3], { commitEnd: '0/200' })], 0x50n, true],
    ['no mark read yet', [piece([1])], null, false],
    ['nothing to number', [], 0x50n, false],
    ['a transaction committed at the mark', [piece([1], { commitEnd: '0/50' })], 0x50n, false],
    ['one of them committed before the mark', [piece([1], { commitEnd: '0/40' }), piece([2])], 0x50n, false],
    ['a piece of a split transaction', [piece([1, 2], { whole: false, commitEnd: null })], 0x50n, false],
    ['the last piece of a split transaction', [piece([3], { whole: false })], 0x50n, false],
    ['rows from a publication that sends only ids', [piece([1], { rows: [{ id: '1' }] })], 0x50n, false],
    ['rows missing', [piece([1, 2], { rows: [row(1)] })], 0x50n, false],
    ['a whole transaction with no outbox rows', [piece([])], 0x50n, true],
  ] as const)('%s: %s', (_name, pieces, from, expected) => {
    expect(earlyEligible(pieces as readonly Piece[], from)).toBe(expected);
  });

  test('every column early numbering reads is one the publication sends', () => {
    expect(Object.keys(row(1)).sort()).toEqual([...EARLY_COLUMNS].sort());
  });
});

describe('numberEarly', () => {
  test('numbers head + 1 onwards in the order given, with the commit time cut to milliseconds', () => {
    const changes = numberEarly([piece([9, 4]), piece([7], { commitTime: 1_700_000_001_999_999n })], 10);
    expect(changes.map((c) => [c.id, c.seq, c.committedAt])).toEqual([
      [9, 11, '2023-11-14T22:13:20.123Z'],
      [4, 12, '2023-11-14T22:13:20.123Z'],
      [7, 13, '2023-11-14T22:13:21.999Z'],
    ]);
    expect(changes[0]).toEqual({
      id: 9,
      seq: 11,
      table: 'projects',
      op: 'INSERT',
      rowId: 'r9',
      newRow: { id: 'r9', name: 'n' },
      oldRow: null,
      txid: '771',
      actor: null,
      committedAt: '2023-11-14T22:13:20.123Z',
      rowBytes: 40,
      // Of id, txid and the commit time to the microsecond: what the stamped row's will be.
      fp: fingerprint('9:771:1700000000123456'),
    });
    expect(changes[2]!.fp).toBe(fingerprint(fingerprintInput(7, '771', 1_700_000_001_999_999n)));
  });
});
