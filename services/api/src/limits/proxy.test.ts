import { describe, expect, test } from 'vitest';
import { parseTrustProxy } from './proxy';

describe('parseTrustProxy', () => {
  test.each([
    [undefined, false],
    ['', false],
    ['0', false],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8, 172.28.0.10', ['10.0.0.0/8', '172.28.0.10']],
    ['::1,fd00::/8', ['::1', 'fd00::/8']],
    ['loopback', ['loopback']],
  ])('%j is %j', (value, want) => {
    expect(parseTrustProxy(value)).toEqual(want);
  });

  test.each([
    ['1', /would believe X-Forwarded-For from any peer.*TRUST_PROXY=127\.0\.0\.1/],
    ['true', /name the proxy instead/],
    ['nginx', /"nginx" is not an IP address/],
    ['10.0.0.0/33', /prefix length must be 0 to 32/],
    ['::1/129', /prefix length must be 0 to 128/],
    ['10.0.0.0/8/1', /not an address or a network/],
    ['127.0.0.1, 999.1.1.1', /"999\.1\.1\.1" is not an IP address/],
  ])('%j is refused with the fix', (value, message) => {
    expect(() => parseTrustProxy(value)).toThrow(message);
  });
});
