import { describe, expect, test } from 'vitest';
import { jsonDepthOver } from './json-depth';

const deep = (depth: number, inner: unknown = 1): unknown => {
  let v = inner;
  for (let i = 0; i < depth; i++) v = i % 2 ? { k: v } : [v];
  return v;
};

describe('jsonDepthOver', () => {
  test.each([
    ['a scalar', 1, 0, false],
    ['null', null, 0, false],
    ['an empty object at limit 1', {}, 1, false],
    ['an empty object at limit 0', {}, 0, true],
    ['arrays and objects, 3 deep, at limit 3', { a: [{ b: 1 }] }, 3, false],
    ['arrays and objects, 3 deep, at limit 2', { a: [{ b: 1 }] }, 2, true],
    ['siblings do not add up', [[1], [2], [3], { a: [1] }], 3, false],
  ])('%s', (_why, value, limit, over) => {
    expect(jsonDepthOver(value, limit)).toBe(over);
  });

  // Built inside the test: the runner reports a case's values, recursively.
  test.each([
    ['255 deep at the stream limit', 255, false],
    ['256 deep', 256, true],
    ['100,000 deep: no stack overflow', 100_000, true],
  ])('%s', (_why, depth, over) => {
    expect(jsonDepthOver(deep(depth), 255)).toBe(over);
  });
});
