import { describe, expect, test } from 'vitest';
import { JSON_DEPTH_LIMIT, jsonTextDepth } from './json';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('jsonTextDepth', () => {
  test.each([
    ['a scalar', '1', 0],
    ['a string', '"x"', 0],
    ['an empty object', '{}', 1],
    ['an array in an object', '{"a":[1,2]}', 2],
    ['brackets inside a string', '{"a":"[[[{{{"}', 1],
    ['an escaped quote inside a string', '{"a":"\\"[[["}', 1],
    ['an escaped backslash before the closing quote', '{"a":"\\\\","b":[[1]]}', 3],
    ['siblings are not nested', '[[1],[2],[3]]', 2],
    ['6,000 deep', nested(6000), 6000],
  ])('%s: %i', (_why, text, want) => {
    expect(jsonTextDepth(text)).toBe(want);
  });

  test('stops counting past the bound (a million deep costs no more than the bound)', () => {
    expect(jsonTextDepth(nested(1_000_000), JSON_DEPTH_LIMIT)).toBe(JSON_DEPTH_LIMIT + 1);
  });
});

