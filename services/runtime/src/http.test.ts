import { describe, expect, test } from 'vitest';
import { HTTP_LIMIT_DEFAULTS, clientErrorAnswer, serverTimeouts } from './http';
describe('serverTimeouts', () => {
  test.each([
    // The default: closed between 30 and 31 s, not at up to 60 s (Node looks every 30 s by itself).
    [30_000, { requestTimeout: 30_000, headersTimeout: 30_000, connectionsCheckingInterval: 1000 }],
    [1000, { requestTimeout: 1000, headersTimeout: 1000, connectionsCheckingInterval: 100 }],
    [200, { requestTimeout: 200, headersTimeout: 200, connectionsCheckingInterval: 50 }],
    [600_000, { requestTimeout: 600_000, headersTimeout: 600_000, connectionsCheckingInterval: 1000 }],
  ])('%i ms', (ms, expected) => {
    expect(serverTimeouts(ms)).toEqual(expected);
  });

  test('defaults: 30 s to send a request, 256 KB of body', () => {
    expect(HTTP_LIMIT_DEFAULTS).toEqual({ requestTimeoutMs: 30_000, bodyLimitBytes: 262_144 });
  });
});

describe('clientErrorAnswer', () => {
  test.each([
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'timeout', 'REQUEST_TIMEOUT'],
    ['HPE_HEADER_OVERFLOW', 431, 'header_size', 'HEADERS_TOO_LARGE'],
    ['HPE_INVALID_METHOD', 400, null, 'BAD_REQUEST'],
    [undefined, 400, null, 'BAD_REQUEST'],
  ])('%s', (code, status, limit, errorCode) => {
    const a = clientErrorAnswer(code, HTTP_LIMIT_DEFAULTS);
    expect(a).toMatchObject({ status, limit, body: { error: { code: errorCode } } });
  });

  test('the timeout names its variable and value', () => {
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT', { requestTimeoutMs: 1500, bodyLimitBytes: 1 }).body.error.message).toContain('1500 ms (HTTP_REQUEST_TIMEOUT_MS)');
  });
});
