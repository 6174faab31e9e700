import { describe, expect, test } from 'vitest';
import { HttpError } from '../errors';
import { etagOf, parseIdempotencyKey, parseIfMatch } from './headers';

const refusal = (fn: () => unknown): HttpError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('not refused');
};

describe('parseIdempotencyKey', () => {
  test.each([
    [undefined, null],
    ['0b5a7c4e-6f1d-4c1b-9a53-2d8f3c1e7b90', '0b5a7c4e-6f1d-4c1b-9a53-2d8f3c1e7b90'],
    ['a', 'a'],
    ['queue:entry_1.retry-2', 'queue:entry_1.retry-2'],
    ['x'.repeat(200), 'x'.repeat(200)],
  ])('%s -> %s', (value, key) => {
    expect(parseIdempotencyKey(value)).toBe(key);
  });

  test.each([[''], ['x'.repeat(201)], ['has space'], ['a/b'], ['ключ'], [['a', 'b']]])('%j is a 400 naming the header', (value) => {
    const err = refusal(() => parseIdempotencyKey(value));
    expect(err.status).toBe(400);
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.message).toMatch(/^invalid header Idempotency-Key: /);
    expect(err.details.fields).toHaveProperty('Idempotency-Key');
  });
});

describe('parseIfMatch', () => {
  test.each([
    [undefined, null],
    ['*', null],
    ['"1"', 1],
    ['"42"', 42],
    ['42', 42],
    [' "7" ', 7],
    ['"2147483647"', 2147483647],
  ])('%s -> %s', (value, version) => {
    expect(parseIfMatch(value)).toBe(version);
  });

  test.each([[''], ['"0"'], ['0'], ['-1'], ['"2147483648"'], ['W/"1"'], ['"1", "2"'], ['"1'], ['abc'], ['"1.5"'], [['"1"', '"2"']]])('%j is a 400 naming the header', (value) => {
    const err = refusal(() => parseIfMatch(value));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^invalid header If-Match: /);
    expect(err.details.fields).toHaveProperty('If-Match');
  });
});

test('an ETag is the version, quoted, and reads back as it', () => {
  expect(etagOf(3)).toBe('"3"');
  expect(parseIfMatch(etagOf(12))).toBe(12);
});
