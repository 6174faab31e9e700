import { describe, expect, test } from 'vitest';
import { retryAfterMs, verdictOf, versionFromEtag } from './policy.js';

describe('verdictOf', () => {
  test.each([
    [200, 'done'],
    [201, 'done'],
    [204, 'done'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [401, 'pause'],
    [409, 'conflict'],
    [400, 'fail'],
    [403, 'fail'],
    [404, 'fail'],
    [410, 'fail'],
    [413, 'fail'],
    [422, 'fail'],
  ] as const)('%i: %s', (status, verdict) => {
    expect(verdictOf(status)).toBe(verdict);
  });
});

describe('versionFromEtag', () => {
  test.each([
    ['"3"', 3],
    ['W/"12"', 12],
    ['7', 7],
    [' "1" ', 1],
    ['"abc"', undefined],
    ['"3-x"', undefined],
    ['', undefined],
    [null, undefined],
  ] as const)('%s -> %s', (etag, version) => {
    expect(versionFromEtag(etag)).toBe(version);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  test('seconds', () => {
    expect(retryAfterMs('0', now)).toBe(0);
    expect(retryAfterMs('120', now)).toBe(120_000);
  });
  test('an HTTP date, never in the past', () => {
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
  });
  test('absent or unreadable: none', () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
  });
});
