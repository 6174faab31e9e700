import { describe, expect, test } from 'vitest';
import { exactColumnOf, parseInt8, parseNumeric } from './numbers';

describe('parseInt8', () => {
  test.each([
    [1, '1'],
    [-42, '-42'],
    ['9007199254740993', '9007199254740993'],
    ['+007', '7'],
    ['-9223372036854775808', '-9223372036854775808'],
    ['9223372036854775807', '9223372036854775807'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
  ])('%j is %s', (value, expected) => {
    expect(parseInt8(value)).toEqual({ ok: true, value: expected });
  });

  test.each([
    [1.5, /must be an integer/],
    ['1.5', /must be an integer/],
    ['', /must be an integer/],
    ['1e3', /must be an integer/],
    [' 1', /must be an integer/],
    [true, /must be an integer/],
    [null, /must be an integer/],
    [9007199254740993, /send it as a string/],
    [2 ** 60, /send it as a string/],
    ['9223372036854775808', /out of range/],
    ['-9223372036854775809', /out of range/],
    [1e19, /out of range/],
  ])('%j is refused: %s', (value, message) => {
    const r = parseInt8(value);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });
});

describe('parseNumeric', () => {
  test.each([
    [10, {}, '10'],
    ['10.00', {}, '10.00'],
    [10.5, { precision: 12, scale: 2 }, '10.5'],
    ['-0.001', {}, '-0.001'],
    ['.5', {}, '.5'],
    ['5.', {}, '5.'],
    ['1.5e3', {}, '1.5e3'],
    [1e21, {}, '1e+21'],
    ['1.000000000000000000001', {}, '1.000000000000000000001'],
    ['9999999999.99', { precision: 12, scale: 2 }, '9999999999.99'],
    ['-9999999999.994', { precision: 12, scale: 2 }, '-9999999999.994'],
    ['0.000001', { precision: 2, scale: 2 }, '0.000001'],
    ['99', { precision: 2 }, '99'],
    ['1e-1000', { precision: 2 }, '1e-1000'],
  ])('%j (%j) is %s', (value, column, expected) => {
    expect(parseNumeric(value, column)).toEqual({ ok: true, value: expected });
  });

  test.each([
    ['ten', {}, /must be a number/],
    ['', {}, /must be a number/],
    ['.', {}, /must be a number/],
    ['NaN', {}, /must be a number/],
    ['Infinity', {}, /must be a number/],
    ['1,5', {}, /must be a number/],
    [' 1', {}, /must be a number/],
    ['0x10', {}, /must be a number/],
    [false, {}, /must be a number/],
    [{}, {}, /must be a number/],
    ['1'.repeat(1001), {}, /must be a number/],
    ['1e1001', {}, /exponent is at most 1000/],
    ['10000000000', { precision: 12, scale: 2 }, /numeric\(12,2\) holds at most 10 digits before the point/],
    // Rounded to the scale first, as Postgres does: 9999999999.995 becomes 10000000000.00.
    ['9999999999.995', { precision: 12, scale: 2 }, /at most 10 digits/],
    ['1e10', { precision: 12, scale: 2 }, /at most 10 digits/],
    ['1', { precision: 2, scale: 2 }, /at most 0 digits/],
    ['100', { precision: 2 }, /at most 2 digits/],
    ['1e999', { precision: 12, scale: 2 }, /at most 10 digits/],
  ])('%j (%j) is refused: %s', (value, column, message) => {
    const r = parseNumeric(value, column);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });
});

describe('exactColumnOf', () => {
  test.each([
    [{ columnType: 'PgBigInt53' }, { kind: 'int8' }],
    [{ columnType: 'PgBigInt64' }, { kind: 'int8' }],
    [{ columnType: 'PgBigSerial53' }, { kind: 'int8' }],
    [{ columnType: 'PgNumeric', precision: 12, scale: 2 }, { kind: 'numeric', precision: 12, scale: 2 }],
    [{ columnType: 'PgNumericNumber' }, { kind: 'numeric', precision: undefined, scale: undefined }],
    [{ columnType: 'PgInteger' }, null],
    [{ columnType: 'PgReal' }, null],
  ])('%j is %j', (column, expected) => {
    expect(exactColumnOf(column)).toEqual(expected);
  });
});
