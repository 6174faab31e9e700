import { describe, expect, test } from 'vitest';
import { JSON_DEPTH_LIMIT, jsonTextDepth, measureJson } from './json';

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
