import { describe, expect, test } from 'vitest';
import { originRefusal } from './origin';

describe('originRefusal: what a page of another origin gets', () => {
  const allowed = ['https://app.example', 'http://localhost:5173'];
  test.each([
    ['no Origin (not a browser page)', undefined, 'gw.example', null],
    ['a listed origin', 'https://app.example', 'gw.example', null],
    ['the page’s own host', 'https://gw.example', 'gw.example', null],
    ['another site', 'https://evil.example', 'gw.example', 'https://evil.example'],
    ['a listed host on another port (a dev proxy that rewrote nothing)', 'http://localhost:3000', 'gw.example', 'http://localhost:3000'],
    ['not http(s)', 'file://x', 'gw.example', 'file://x'],
  ])('%s', (_name, origin, host, refusedOrigin) => {
    const refusal = originRefusal(origin, host, allowed);
    if (refusedOrigin === null) return expect(refusal).toBeNull();
    expect(refusal).toEqual({
      code: 4,
      message: `ORIGIN_NOT_ALLOWED: ${refusedOrigin} is not an allowed origin (allowed: https://app.example, http://localhost:5173, and the page's own host); add it to FRONTEND_URL`,
    });
  });

  test('with no FRONTEND_URL the answer says none is allowed', () => {
    expect(originRefusal('https://evil.example', 'gw.example', [])?.message).toContain('(allowed: (none), and the page');
  });
});
