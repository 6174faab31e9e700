import { describe, expect, test } from 'vitest';
import { HttpError } from '../errors';
import { canonicalJson, judgeStored, requestHash, type StoredKey, type WriteRequest } from './idempotency';

describe('canonicalJson', () => {
  test.each([
    [null, 'null'],
    [undefined, 'null'],
    [1.5, '1.5'],
    ['a"b', '"a\\"b"'],
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [{ z: { y: 1, x: [3, { d: 1, c: 2 }] } }, '{"z":{"x":[3,{"c":2,"d":1}],"y":1}}'],
    [{ a: undefined, b: null }, '{"b":null}'],
    [[undefined, 1], '[null,1]'],
  ])('%j -> %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });
});

describe('requestHash', () => {
  const base: WriteRequest = { method: 'PATCH', path: '/api/projects/1', body: { name: 'a', description: 'b' }, ifMatch: 3 };
  test('the same request, whatever the order of its body\'s keys or the case of its method', () => {
    expect(requestHash({ ...base, method: 'patch', body: { description: 'b', name: 'a' } })).toBe(requestHash(base));
    expect(requestHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });
  test.each([
    ['method', { method: 'DELETE' }],
    ['path', { path: '/api/projects/2' }],
    ['body', { body: { name: 'a', description: 'c' } }],
    ['no body', { body: null }],
    ['If-Match', { ifMatch: 4 }],
    ['no If-Match', { ifMatch: null }],
  ])('another %s is another request', (_what, change) => {
    expect(requestHash({ ...base, ...change })).not.toBe(requestHash(base));
  });
});

describe('judgeStored', () => {
  const stored: StoredKey = { request_hash: 'h1', status: 201, body: { id: 'x' }, etag: '"1"', txid: '77' };
  test('the same request is its stored answer, replayed', () => {
    expect(judgeStored('k', stored, 'h1')).toEqual({ status: 201, body: { id: 'x' }, etag: '"1"', txid: '77', replayed: true });
    expect(judgeStored('k', { ...stored, status: 204, body: null, etag: null }, 'h1')).toEqual({ status: 204, body: null, etag: null, txid: '77', replayed: true });
  });
  test('another request under the key is a 422 naming the key', () => {
    let err: unknown;
    try {
      judgeStored('my-key', stored, 'h2');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect((err as Error).message).toContain('my-key');
  });
  test('a key without its answer is a bug, not a replay', () => {
    expect(() => judgeStored('k', { ...stored, status: null }, 'h1')).toThrow(/without its response/);
  });
});
