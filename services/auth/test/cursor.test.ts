import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { fingerprint, fingerprintInput } from '@realtime/db';
import { CursorError, StaleCursorError, cursorFromRow, decodeCursor, encodeCursor } from '../src/cursor';

const secret = new TextEncoder().encode('cursor-test-secret-cursor-test-secret!');
const other = new TextEncoder().encode('another-secret-another-secret-another!');
/** A payload signed as the server signs one: to reach the checks that follow the signature. */
const signed = (raw: object | string, key: Uint8Array = secret) => {
  const payload = typeof raw === 'string' ? raw : Buffer.from(JSON.stringify(raw)).toString('base64url');
  return `${payload}.${createHmac('sha256', key).update('realtime list cursor\n').update(payload).digest('base64url')}`;
};

describe('cursor', () => {
  test('round trip', () => {
    const c = decodeCursor(secret, encodeCursor(secret, 42, '100:105:101,103', 'AbCdEfGhIjKl'));
    expect(c.headSeq).toBe(42);
    expect(c.headFp).toBe('AbCdEfGhIjKl');
    expect(c.snapshotText).toBe('100:105:101,103');
    expect(c.snapshot.xip).toEqual(new Set([101n, 103n]));
  });
  test('a head without a row (nothing written, or pruned to the floor) carries no fingerprint', () => {
    expect(decodeCursor(secret, encodeCursor(secret, 0, '1:1:', null)).headFp).toBeNull();
  });
  test.each([
    ['version 1 (no fingerprint)', { v: 1, h: 7, s: '1:2:' }],
    ['a later version', { v: 3, h: 7, f: null, s: '1:2:', z: 1 }],
  ])('a signed cursor of %s is stale: the list is read again', (_name, raw) => {
    const token = signed(raw);
    expect(() => decodeCursor(secret, token)).toThrow(StaleCursorError);
    expect(() => decodeCursor(secret, token)).toThrow(/this server reads version 2 only.*read the list again/);
  });
  test('cursorFromRow: the fingerprint of the head row, from the same input the feed and replay hash', () => {
    const input = fingerprintInput(12, '745', 1795792494123456n);
    expect(input).toBe('12:745:1795792494123456');
    const c = decodeCursor(secret, cursorFromRow(secret, { snapshot: '1:2:', head: '9', fp_input: input }));
    expect(c).toMatchObject({ headSeq: 9, headFp: fingerprint(input) });
    expect(decodeCursor(secret, cursorFromRow(secret, { snapshot: '1:2:', head: '9', fp_input: null })).headFp).toBeNull();
  });
  test('the rows the snapshot saw unstamped travel with the cursor, and only when there are some', () => {
    const c = decodeCursor(secret, cursorFromRow(secret, { snapshot: '1:2:', head: '9', fp_input: null, pending_lo: '12', pending_hi: '15', pending_digest: '0123456789abcdef' }));
    expect(c.pending).toEqual({ lo: 12, hi: 15, digest: '0123456789abcdef' });
    expect(decodeCursor(secret, cursorFromRow(secret, { snapshot: '1:2:', head: '9', pending_lo: null, pending_hi: null, pending_digest: null })).pending).toBeNull();
    expect(decodeCursor(secret, encodeCursor(secret, 3, '1:2:', null)).pending).toBeNull();
  });
  const v2 = (extra: object) => ({ v: 2, h: 1, f: null, s: '1:2:', ...extra });
  test.each([
    ['garbage', signed('not base64 !!!')],
    ['a pending range upside down', signed(v2({ u: [5, 4, '0123456789abcdef'] }))],
    ['a pending digest of another form', signed(v2({ u: [4, 5, 'xyz'] }))],
    ['a pending range without its digest', signed(v2({ u: [4, 5] }))],
    ['json of the wrong shape', signed({ h: 1 })],
    ['negative head', signed({ v: 2, h: -1, f: null, s: '1:2:' })],
    ['bad snapshot', signed({ v: 2, h: 1, f: null, s: '9:2:' })],
    ['a version that is not a number', signed({ v: 'two', h: 1, f: null, s: '1:2:' })],
    ['a fingerprint that is not base64url', signed({ v: 2, h: 1, f: 'a b', s: '1:2:' })],
    ['v2 without its fingerprint field', signed({ v: 2, h: 1, s: '1:2:' })],
  ])('%s, even signed, is refused with a CursorError', (_name, token) => {
    expect(() => decodeCursor(secret, token)).toThrow(CursorError);
  });

  const genuine = encodeCursor(secret, 42, '100:105:101,103', 'AbCdEfGhIjKl', { lo: 7, hi: 9, digest: '0123456789abcdef' });
  const [payload, sig] = genuine.split('.') as [string, string];
  const forgedPayload = Buffer.from(JSON.stringify({ v: 2, h: 42, f: 'AbCdEfGhIjKl', s: '100:105:101,103', u: [1, 500_000, '0123456789abcdef'] })).toString('base64url');
  const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  // `stale`: shaped like a cursor of ours (a list kept from before signing, or before the
  // secret changed), which the gateway resyncs; otherwise a plain refusal.
  test.each([
    ['unsigned (as cursors were before)', payload, /not signed/, true],
    ['a forged pending range under the genuine signature', `${forgedPayload}.${sig}`, /signature does not match/, true],
    ['one character of the payload changed', `${flip(payload, 5)}.${sig}`, /signature does not match/, false],
    ['one character of the signature changed', `${payload}.${flip(sig, 3)}`, /signature does not match/, true],
    ['the signature cut short', `${payload}.${sig.slice(0, 20)}`, /signature does not match/, true],
    ['an empty signature', `${payload}.`, /signature does not match/, true],
    ['signed with another secret', signed(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), other), /another REALTIME_JWT_SECRET/, true],
    ['not a cursor at all, unsigned', Buffer.from('not a cursor').toString('base64url'), /not signed/, false],
    ['not a cursor at all, with a dot', 'abc.def', /signature does not match/, false],
  ])('%s is refused before it is used, with the way out', (_name, token, message, stale) => {
    expect(() => decodeCursor(secret, token)).toThrow(CursorError);
    expect(() => decodeCursor(secret, token)).toThrow(message);
    expect(() => decodeCursor(secret, token)).toThrow(/read the list again/);
    let thrown: unknown;
    try {
      decodeCursor(secret, token);
    } catch (err) {
      thrown = err;
    }
    expect(thrown instanceof StaleCursorError).toBe(stale);
  });
  test('the genuine one is read', () => {
    expect(decodeCursor(secret, genuine).pending).toEqual({ lo: 7, hi: 9, digest: '0123456789abcdef' });
  });
  test('encoding refuses a bad snapshot', () => {
    expect(() => encodeCursor(secret, 1, 'x', null)).toThrow(/not a pg_snapshot/);
  });
});
