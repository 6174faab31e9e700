import { describe, expect, test } from 'vitest';
import { fingerprint, fingerprintInput } from '@realtime/db';
import { CursorError, cursorFromRow, decodeCursor, encodeCursor } from '../src/cursor';

describe('cursor', () => {
  test('round trip', () => {
    const c = decodeCursor(encodeCursor(42, '100:105:101,103', 'AbCdEfGhIjKl'));
    expect(c.headSeq).toBe(42);
    expect(c.headFp).toBe('AbCdEfGhIjKl');
    expect(c.snapshotText).toBe('100:105:101,103');
    expect(c.snapshot.xip).toEqual(new Set([101n, 103n]));
  });
  test('a head without a row (nothing written, or pruned to the floor) carries no fingerprint', () => {
    expect(decodeCursor(encodeCursor(0, '1:1:', null)).headFp).toBeNull();
  });
  test('a cursor of protocol 2 (v1, no fingerprint) is still read, as a position that cannot be checked', () => {
    const c = decodeCursor(Buffer.from(JSON.stringify({ v: 1, h: 7, s: '1:2:' })).toString('base64url'));
    expect(c).toMatchObject({ headSeq: 7, headFp: null });
  });
  test('cursorFromRow: the fingerprint of the head row, from the same input the feed and replay hash', () => {
    const input = fingerprintInput(12, '745', 1795792494123456n);
    expect(input).toBe('12:745:1795792494123456');
    const c = decodeCursor(cursorFromRow({ snapshot: '1:2:', head: '9', fp_input: input }));
    expect(c).toMatchObject({ headSeq: 9, headFp: fingerprint(input) });
    expect(decodeCursor(cursorFromRow({ snapshot: '1:2:', head: '9', fp_input: null })).headFp).toBeNull();
  });
  test('the rows the snapshot saw unstamped travel with the cursor, and only when there are some', () => {
    const c = decodeCursor(cursorFromRow({ snapshot: '1:2:', head: '9', fp_input: null, pending_lo: '12', pending_hi: '15', pending_digest: '0123456789abcdef' }));
    expect(c.pending).toEqual({ lo: 12, hi: 15, digest: '0123456789abcdef' });
    expect(decodeCursor(cursorFromRow({ snapshot: '1:2:', head: '9', pending_lo: null, pending_hi: null, pending_digest: null })).pending).toBeNull();
    expect(decodeCursor(encodeCursor(3, '1:2:', null)).pending).toBeNull();
  });
  const v2 = (extra: object) => Buffer.from(JSON.stringify({ v: 2, h: 1, f: null, s: '1:2:', ...extra })).toString('base64url');
  test.each([
    ['garbage', 'not base64 !!!'],
    ['a pending range upside down', v2({ u: [5, 4, '0123456789abcdef'] })],
    ['a pending digest of another form', v2({ u: [4, 5, 'xyz'] })],
    ['a pending range without its digest', v2({ u: [4, 5] })],
    ['json of the wrong shape', Buffer.from(JSON.stringify({ h: 1 })).toString('base64url')],
    ['negative head', Buffer.from(JSON.stringify({ v: 1, h: -1, s: '1:2:' })).toString('base64url')],
    ['bad snapshot', Buffer.from(JSON.stringify({ v: 1, h: 1, s: '9:2:' })).toString('base64url')],
    ['a fingerprint that is not base64url', Buffer.from(JSON.stringify({ v: 2, h: 1, f: 'a b', s: '1:2:' })).toString('base64url')],
    ['v2 without its fingerprint field', Buffer.from(JSON.stringify({ v: 2, h: 1, s: '1:2:' })).toString('base64url')],
  ])('%s is refused with a CursorError', (_name, token) => {
    expect(() => decodeCursor(token)).toThrow(CursorError);
  });
  test('encoding refuses a bad snapshot', () => {
    expect(() => encodeCursor(1, 'x', null)).toThrow(/not a pg_snapshot/);
  });
});
