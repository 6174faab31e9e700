import { describe, expect, test } from 'vitest';
import { CursorError, decodeCursor, encodeCursor } from '../src/cursor';

describe('cursor', () => {
  test('round trip', () => {
    const c = decodeCursor(encodeCursor(42, '100:105:101,103'));
    expect(c.headSeq).toBe(42);
    expect(c.snapshotText).toBe('100:105:101,103');
    expect(c.snapshot.xip).toEqual(new Set([101n, 103n]));
  });
  test.each([
    ['garbage', 'not base64 !!!'],
    ['json of the wrong shape', Buffer.from(JSON.stringify({ h: 1 })).toString('base64url')],
    ['negative head', Buffer.from(JSON.stringify({ v: 1, h: -1, s: '1:2:' })).toString('base64url')],
    ['bad snapshot', Buffer.from(JSON.stringify({ v: 1, h: 1, s: '9:2:' })).toString('base64url')],
  ])('%s is refused with a CursorError', (_name, token) => {
    expect(() => decodeCursor(token)).toThrow(CursorError);
  });
  test('encoding refuses a bad snapshot', () => {
    expect(() => encodeCursor(1, 'x')).toThrow(/not a pg_snapshot/);
  });
});
