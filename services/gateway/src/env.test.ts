import { describe, expect, test } from 'vitest';
import { EnvError } from '@realtime/runtime';
import { gatewayHeartbeat, gatewayLimits, gatewayRing, loadGatewayEnv as load, originProblem } from './env';

// A gateway of its own must share the API's token secret.
const SECRET = '3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5';
const loadGatewayEnv = (source: Record<string, string>) => load({ REALTIME_JWT_SECRET: SECRET, ...source });

describe('the replay ring', () => {
  test('its bounds from the env, 0 allowed (no ring)', () => {
    expect(gatewayRing(loadGatewayEnv({ REPLAY_RING_CHANGES: '1000', REPLAY_RING_BYTES: '0' }))).toEqual({ changes: 1000, bytes: 0 });
  });
  test('a bad value names its variable', () => {
    expect(() => loadGatewayEnv({ REPLAY_RING_CHANGES: '-1' })).toThrow(/REPLAY_RING_CHANGES/);
    expect(() => loadGatewayEnv({ REPLAY_RING_BYTES: 'lots' })).toThrow(/REPLAY_RING_BYTES/);
  });
});

describe('loadGatewayEnv', () => {
  test('defaults', () => {
    const env = loadGatewayEnv({});
    // Empty: every table the catalog shows streamed.
    expect(env.PG_CHANNELS).toEqual([]);
    expect(env).toMatchObject({
      FRONTEND_URL: ['http://localhost:3000'],
      MAX_SUBSCRIPTIONS_PER_SOCKET: 100,
      MAX_SOCKETS_PER_USER: 20,
      SUBSCRIBES_PER_SECOND: 20,
      SOCKET_QUEUE_BYTES: 8 * 1024 * 1024,
      REPLAY_PAGE_SIZE: 1000,
      REPLAY_PAGE_BYTES: 1024 * 1024,
      MAX_CONCURRENT_REPLAYS: 16,
      MAX_REPLAYS_PER_USER: 4,
      REPLAY_POOL_SIZE: 4,
      REPLAY_RING_CHANGES: 0,
      REPLAY_RING_BYTES: 64 * 1024 * 1024,
      STATEMENT_TIMEOUT_MS: 15_000,
      PORT: 3000,
    });
  });

  test('FRONTEND_URL is a comma list of origins', () => {
    expect(loadGatewayEnv({ FRONTEND_URL: 'https://a.example, http://localhost:5173' }).FRONTEND_URL).toEqual(['https://a.example', 'http://localhost:5173']);
  });

  test('the limits come from their variables', () => {
    const limits = gatewayLimits(loadGatewayEnv({ SOCKET_QUEUE_BYTES: '65536', MAX_SOCKETS_PER_USER: '3', SUBSCRIBES_PER_SECOND: '5', MAX_CONCURRENT_REPLAYS: '2', MAX_REPLAYS_PER_USER: '1', REPLAY_PAGE_BYTES: '32768' }));
    expect(limits).toMatchObject({ queueBytes: 65536, maxSocketsPerUser: 3, subscribesPerSecond: 5, maxConcurrentReplays: 2, maxReplaysPerUser: 1, pageBytes: 32768, maxSubscriptions: 100 });
  });

  test('the heartbeat: a dead link noticed within 10 s by default, and configurable within that', () => {
    expect(gatewayHeartbeat(loadGatewayEnv({}))).toEqual({ pingInterval: 4000, pingTimeout: 5000 });
    expect(gatewayHeartbeat(loadGatewayEnv({ PING_INTERVAL_MS: '2000', PING_TIMEOUT_MS: '8000' }))).toEqual({ pingInterval: 2000, pingTimeout: 8000 });
  });

  test('PG_CHANNELS is a comma list', () => {
    expect(loadGatewayEnv({ PG_CHANNELS: ' projects, extraction_jobs ,' }).PG_CHANNELS).toEqual(['projects', 'extraction_jobs']);
  });

  test.each([
    ['PG_CHANNELS', 'projects;drop table x', /PG_CHANNELS lists table names/],
    ['PG_CHANNELS', 'projects,Extraction-Jobs', /PG_CHANNELS/],
    ['FRONTEND_URL', 'localhost', /FRONTEND_URL lists origins.*e\.g\. https:\/\/app\.example\.com/],
    ['FRONTEND_URL', 'localhost:5173', /FRONTEND_URL.*"localhost:5173" has no http:\/\/ or https:\/\/ scheme/],
    ['FRONTEND_URL', 'https://a.example/app', /FRONTEND_URL.*has a path.*e\.g\. https:\/\/a\.example/],
    ['FRONTEND_URL', 'ftp://a.example', /FRONTEND_URL.*no http:\/\/ or https:\/\/ scheme/],
    ['FRONTEND_URL', 'https://a.example,nope', /FRONTEND_URL lists origins/],
    ['REALTIME_JWT_SECRET', 'short', /at least 32 characters/],
    ['REALTIME_JWT_SECRET', 's'.repeat(40), /looks guessable/],
    ['REALTIME_JWT_SECRET', 'secret12'.repeat(5), /looks guessable/],
    ['REALTIME_JWT_SECRET', '0101010101010101010101010101010123', /looks guessable/],
    ['MAX_SUBSCRIPTIONS_PER_SOCKET', '0', /MAX_SUBSCRIPTIONS_PER_SOCKET/],
    ['SOCKET_QUEUE_BYTES', '100', /SOCKET_QUEUE_BYTES/],
    ['SOCKET_QUEUE_BYTES', 'lots', /SOCKET_QUEUE_BYTES/],
    ['MAX_SOCKETS_PER_USER', '0', /MAX_SOCKETS_PER_USER/],
    ['SUBSCRIBES_PER_SECOND', '-1', /SUBSCRIBES_PER_SECOND/],
    ['MAX_CONCURRENT_REPLAYS', '0', /MAX_CONCURRENT_REPLAYS/],
    ['MAX_REPLAYS_PER_USER', '0', /MAX_REPLAYS_PER_USER/],
    ['MAX_REPLAYS_PER_USER', 'many', /MAX_REPLAYS_PER_USER/],
    ['REPLAY_POOL_SIZE', '1000', /REPLAY_POOL_SIZE/],
    ['STATEMENT_TIMEOUT_MS', '5', /STATEMENT_TIMEOUT_MS/],
    ['PING_INTERVAL_MS', '500', /PING_INTERVAL_MS/],
    ['PING_INTERVAL_MS', '8000', /at most 10000 ms/],
    ['PING_TIMEOUT_MS', '7000', /at most 10000 ms/],
  ])('%s=%s is refused, naming the variable', (name, value, message) => {
    expect(() => loadGatewayEnv({ [name]: value })).toThrow(EnvError);
    expect(() => loadGatewayEnv({ [name]: value })).toThrow(message);
  });
});

test('a gateway of its own refuses to start without the shared secret, naming it', () => {
  expect(() => load({})).toThrow(/REALTIME_JWT_SECRET: must be set for a gateway of its own/);
});

describe('originProblem', () => {
  test.each([
    ['https://app.example.com', null],
    ['http://localhost:5173', null],
    ['http://127.0.0.1:3000/', null],
    ['localhost:5173', /no http:\/\/ or https:\/\/ scheme/],
    ['app.example.com', /is not an origin/],
    ['https://app.example.com/path', /has a path/],
    ['https://app.example.com?x=1', /has a path/],
    ['https://user:pw@app.example.com', /carries credentials/],
  ])('%s', (entry, want) => {
    const problem = originProblem(entry);
    if (want === null) expect(problem).toBeNull();
    else expect(problem).toMatch(want);
  });

  test('origins are kept as browsers send them', () => {
    expect(loadGatewayEnv({ FRONTEND_URL: 'https://A.example/, http://localhost:5173' }).FRONTEND_URL).toEqual(['https://a.example', 'http://localhost:5173']);
  });
});
