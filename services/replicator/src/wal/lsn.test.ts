import { describe, expect, test } from 'vitest';
import { forLibraryAck, formatLsn, maxLsn, microsToIso, parseLsn } from './lsn';

describe('parseLsn / formatLsn', () => {
  test.each([
    ['0/0', 0n],
    ['0/1', 1n],
    ['16/B374D848', (0x16n << 32n) | 0xb374d848n],
    ['FFFFFFFF/FFFFFFFF', 0xffffffffffffffffn],
    ['0/00000010', 16n],
  ])('%s is %d', (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(parseLsn(formatLsn(value))).toBe(value);
  });

  test.each(['', '16', '16/', 'G/1', '1/2/3', '123456789/0'])('"%s" is refused with the reason', (text) => {
    expect(() => parseLsn(text)).toThrow(/not an LSN/);
  });

  test('formatting drops leading zeros like Postgres does', () => {
    expect(formatLsn(0x100000010n)).toBe('1/10');
  });
});

describe('forLibraryAck', () => {
  test.each([
    ['1/0', '0/FFFFFFFF'],
    ['0/1000', '0/FFF'],
    ['0/0', '0/0'],
  ])('commit end %s is handed over as %s', (end, handed) => {
    expect(forLibraryAck(parseLsn(end))).toBe(handed);
  });
});

test('maxLsn', () => {
  expect(maxLsn(5n, 3n)).toBe(5n);
  expect(maxLsn(3n, 5n)).toBe(5n);
});

describe('microsToIso', () => {
  test.each([
    [0n, '1970-01-01T00:00:00.000000Z'],
    [1700000000123456n, '2023-11-14T22:13:20.123456Z'],
    [1700000000000001n, '2023-11-14T22:13:20.000001Z'],
  ])('%d', (micros, iso) => {
    expect(microsToIso(micros)).toBe(iso);
  });
});
