import { describe, expect, test } from 'vitest';
import { acceptedEncodings, isCompressible } from '../src/encoding';

describe('acceptedEncodings', () => {
  test.each<[string | undefined, string[]]>([
    [undefined, []],
    ['', []],
    ['identity', []],
    ['gzip, deflate, br, zstd', ['br', 'gzip']],
    ['gzip, deflate', ['gzip']],
    ['br', ['br']],
    ['br;q=0, gzip', ['gzip']],
    ['gzip;q=1.0, br;q=0.5', ['gzip', 'br']],
    ['br;q=0.5, gzip;q=0.5', ['br', 'gzip']],
    ['*', ['br', 'gzip']],
    ['*;q=0', []],
    ['gzip;q=0, *', ['br']],
    ['x-gzip', ['gzip']],
    ['GZIP , BR ; Q=0.8', ['gzip', 'br']],
    ['br;q=abc, gzip', ['gzip']],
    [',,gzip,,', ['gzip']],
  ])('%j', (header, want) => {
    expect(acceptedEncodings(header)).toEqual(want);
  });
});

describe('isCompressible', () => {
  test.each([
    ['.js', true],
    ['.html', true],
    ['.css', true],
    ['.svg', true],
    ['.png', false],
    ['.woff2', false],
    ['', false],
  ])('%s', (ext, want) => {
    expect(isCompressible(ext)).toBe(want);
  });
});
