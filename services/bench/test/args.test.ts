import { describe, expect, test } from 'vitest';
import { BenchArgsError, positiveInts } from '../src/args';

describe('positiveInts', () => {
  test.each([
    [{ rounds: '3' }, { rounds: 3 }],
    [{ rows: '50000', seconds: '5' }, { rows: 50000, seconds: 5 }],
    [{ rounds: ' 2 ' }, { rounds: 2 }],
  ])('%o reads as %o', (input, expected) => {
    expect(positiveInts(input)).toEqual(expected);
  });

  test.each([
    [{ rounds: '0' }, '--rounds must be a positive whole number, got "0"'],
    [{ rounds: '-1' }, '--rounds must be a positive whole number, got "-1"'],
    [{ seconds: '1.5' }, '--seconds must be a positive whole number, got "1.5"'],
    [{ rows: 'many' }, '--rows must be a positive whole number, got "many"'],
    [{ rows: '' }, '--rows must be a positive whole number, got ""'],
    [{ rows: '3', seconds: 'x' }, '--seconds must be a positive whole number, got "x"'],
  ])('%o is refused', (input, message) => {
    expect(() => positiveInts(input)).toThrow(new BenchArgsError(message));
  });
});
