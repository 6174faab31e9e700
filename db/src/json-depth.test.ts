import { describe, expect, test } from 'vitest';
import { JSON_DEPTH_LIMIT, jsonDepthOver, measureJson } from './json-depth';

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

describe('measureJson', () => {
  const deep = (depth: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  };

  test.each([
    ['a flat object', { a: 1, b: 'x' }],
    ['nested arrays and objects', { a: [1, { b: [true, null] }], c: 'q"uote' }],
    ['an empty array', []],
    ['a string with escapes', 'line\nbreak'],
    ['undefined and functions left out of an object', { a: undefined, b: 1, c: () => 1 }],
    ['undefined in an array', [undefined, 1]],
  ])('%s: the size of its JSON text', (_why, value) => {
    expect(measureJson(value, { size: 1e9, depth: 1e9 })).toEqual({ size: JSON.stringify(value).length, depth: expect.any(Number), over: null });
  });

  test.each([
    ['at the depth bound', JSON_DEPTH_LIMIT, null],
    ['one over it', JSON_DEPTH_LIMIT + 1, 'depth'],
    ['100,000 deep (JSON.stringify would overflow the stack)', 100_000, 'depth'],
  ])('%s', (_why, depth, over) => {
    expect(measureJson(deep(depth), { size: 1e9, depth: JSON_DEPTH_LIMIT }).over).toBe(over);
  });

  test('stops once past the size bound', () => {
    const r = measureJson(Array.from({ length: 100_000 }, () => 'xxxxxxxx'), { size: 1000, depth: 64 });
    expect(r.over).toBe('size');
  });
});
