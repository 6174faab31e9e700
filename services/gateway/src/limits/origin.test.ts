import { describe, expect, test } from 'vitest';
import { originAllowed } from './origin';

describe('originAllowed', () => {
  const allowed = ['http://localhost:3000', 'https://app.example.com'];
  const cases: [string, string | undefined, string | undefined, boolean][] = [
    ['no Origin: not a browser page', undefined, 'gw:3000', true],
    ['a listed origin', 'http://localhost:3000', 'gw:8080', true],
    ['a listed origin, second in the list', 'https://app.example.com', 'gw:8080', true],
    ['the page served by this host', 'http://gw:8080', 'gw:8080', true],
    ['the same host in other case', 'http://GW:8080', 'gw:8080', true],
    ['another site', 'https://evil.example', 'gw:8080', false],
    ['a listed host on another scheme', 'http://app.example.com', 'gw:8080', false],
    ['a listed host on another port', 'http://localhost:3001', 'gw:8080', false],
    ['a look-alike suffix', 'https://app.example.com.evil.example', 'gw:8080', false],
    ['the literal null origin (sandboxed frame, file:)', 'null', 'gw:8080', false],
    ['not a URL', 'not a url', 'gw:8080', false],
    ['a non-web scheme on the same host', 'file://gw:8080', 'gw:8080', false],
    ['no Host header and not listed', 'https://evil.example', undefined, false],
  ];
  for (const [name, origin, host, expected] of cases) {
    test(name, () => expect(originAllowed(origin, host, allowed)).toBe(expected));
  }
});
