import { describe, expect, test } from 'vitest';
import { EnvError } from '@realtime/runtime';
import { loadApiEnv as load, loadApiToolEnv } from './env';

// The API of its own must share the gateways' token secret.
const SECRET = '3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5';
const loadApiEnv = (source: Record<string, string | undefined>) => load({ REALTIME_JWT_SECRET: SECRET, ...source });

describe('loadApiEnv', () => {
  test('defaults', () => {
    const env = loadApiEnv({});
    expect(env).toMatchObject({ SIMULATOR_INTERVAL_MS: 1500, GATEWAY_URLS: [], RETENTION_INTERVAL_MS: 3_600_000, SLOT_LAG_WARN_BYTES: 1024 ** 3, OUTBOX_PAGE_BYTES: 1024 * 1024 });
    // Retention is on unless asked otherwise.
    expect(env.RETENTION).toBe(30 * 86_400_000);
  });
  test.each([
    ['12h', 12 * 3_600_000],
    ['90d', 90 * 86_400_000],
    ['forever', null],
    ['', 30 * 86_400_000], // empty is unset, as for every variable
  ])('RETENTION=%s', (value, ms) => {
    expect(loadApiEnv({ RETENTION: value }).RETENTION).toBe(ms);
  });
  test.each([
    [undefined, 24],
    ['24', 24],
    ['72', 72],
  ])('IDEMPOTENCY_TTL_HOURS=%s', (value, hours) => {
    expect(loadApiEnv({ IDEMPOTENCY_TTL_HOURS: value }).IDEMPOTENCY_TTL_HOURS).toBe(hours);
  });
  test.each([
    ['65536', 65_536],
    ['67108864', 64 * 1024 * 1024],
  ])('OUTBOX_PAGE_BYTES=%s', (value, bytes) => {
    expect(loadApiEnv({ OUTBOX_PAGE_BYTES: value }).OUTBOX_PAGE_BYTES).toBe(bytes);
  });
  test.each([
    ['RETENTION', '30 days', /RETENTION: not a duration.*or "forever"/],
    ['RETENTION', 'off', /RETENTION: not a duration.*or "forever"/],
    ['OUTBOX_PAGE_BYTES', '1000', /OUTBOX_PAGE_BYTES/],
    ['OUTBOX_PAGE_BYTES', '67108865', /OUTBOX_PAGE_BYTES/],
    ['OUTBOX_PAGE_BYTES', '1mb', /OUTBOX_PAGE_BYTES/],
    ['GATEWAY_URLS', 'gateway-1', /GATEWAY_URLS lists URLs/],
    ['SIMULATOR_INTERVAL_MS', '5', /SIMULATOR_INTERVAL_MS/],
    ['IDEMPOTENCY_TTL_HOURS', '23', /IDEMPOTENCY_TTL_HOURS: at least 24/],
    ['IDEMPOTENCY_TTL_HOURS', '24.5', /IDEMPOTENCY_TTL_HOURS/],
    ['IDEMPOTENCY_TTL_HOURS', 'a day', /IDEMPOTENCY_TTL_HOURS/],
    ['AUTH_ISSUER', 'https://id.example', /AUTH_JWKS_URL: OpenID Connect needs AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE together/],
    ['HTTP_BODY_LIMIT_BYTES', '10', /HTTP_BODY_LIMIT_BYTES/],
  ])('%s=%s is refused', (name, value, message) => {
    expect(() => loadApiEnv({ [name]: value })).toThrow(EnvError);
    expect(() => loadApiEnv({ [name]: value })).toThrow(message);
  });
  test('the API of its own refuses to start without the shared secret, naming it', () => {
    expect(() => load({})).toThrow(/REALTIME_JWT_SECRET: must be set for the API of its own/);
  });
  test('the operators\' CLIs need no secret', () => {
    expect(loadApiToolEnv({}).OUTBOX_PAGE_BYTES).toBe(1024 * 1024);
  });
  test('GATEWAY_URLS is a comma list', () => {
    expect(loadApiEnv({ GATEWAY_URLS: 'http://a:3000, http://b:3000' }).GATEWAY_URLS).toEqual(['http://a:3000', 'http://b:3000']);
  });
});
