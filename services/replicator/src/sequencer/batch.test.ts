import { describe, expect, test } from 'vitest';
import { BatchBuffer } from './batch';
import type { Piece } from '../wal/transactions';

const piece = (ids: number[], commitEnd: string | null): Piece => ({ xid: 1, ids, rows: [], whole: commitEnd !== null, commitTime: 0n, commitEnd });

describe('BatchBuffer', () => {
  test.each([
    ['nothing', [], 0, null],
    ['one whole transaction', [piece([1, 2], '0/10')], 2, '0/10'],
    ['two whole transactions ack the later', [piece([1], '0/10'), piece([2, 3], '0/20')], 3, '0/20'],
    ['a whole one then a piece of a streaming one', [piece([1], '0/10'), piece([2, 3], null)], 3, '0/10'],
    ['only a piece of a streaming one', [piece([5, 6, 7], null)], 3, null],
    ['an empty final piece still acknowledges', [piece([1, 2], null), piece([], '0/30')], 2, '0/30'],
  ] as const)('%s', (_name, pieces, rows, ackTo) => {
    const b = new BatchBuffer();
    for (const p of pieces) b.push(p);
    expect(b.rows).toBe(rows);
    const batch = b.take();
    expect(batch.rows).toBe(rows);
    expect(batch.ackTo).toBe(ackTo);
    expect(batch.pieces).toHaveLength(pieces.length);
    expect(b.isEmpty).toBe(true);
    expect(b.rows).toBe(0);
  });
});
