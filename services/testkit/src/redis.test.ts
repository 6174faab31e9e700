import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { findRedisServer, redisArgs, REDIS_INSTALL_HINT } from './redis';

describe('findRedisServer', () => {
  const PATH = ['/opt/a', '/opt/b'].join(path.delimiter);
  test.each([
    ['the first on PATH', PATH, ['/opt/a/redis-server', '/opt/b/redis-server', '/usr/bin/redis-server'], '/opt/a/redis-server'],
    ['a later PATH entry', PATH, ['/opt/b/redis-server', '/usr/bin/redis-server'], '/opt/b/redis-server'],
    ["Debian's when PATH has none", PATH, ['/usr/bin/redis-server'], '/usr/bin/redis-server'],
    ["Debian's with no PATH at all", undefined, ['/usr/bin/redis-server'], '/usr/bin/redis-server'],
  ])('%s', (_name, pathVar, present, want) => {
    expect(findRedisServer(pathVar, (f) => present.includes(f))).toBe(want);
  });

  test('names the package to install when there is none', () => {
    expect(() => findRedisServer(PATH, () => false)).toThrow(REDIS_INSTALL_HINT);
    expect(REDIS_INSTALL_HINT).toBe('apt-get install -y redis-server');
  });
});

describe('redisArgs', () => {
  test('binds loopback on the port, in the folder, with persistence off, extras last', () => {
    const args = redisArgs(6400, '/tmp/x', ['--stream-node-max-entries', '1']);
    const opt = (name: string) => args[args.indexOf(name) + 1];
    expect([opt('--port'), opt('--bind'), opt('--dir'), opt('--save'), opt('--appendonly'), opt('--daemonize')]).toEqual(['6400', '127.0.0.1', '/tmp/x', '', 'no', 'no']);
    expect(args.slice(-2)).toEqual(['--stream-node-max-entries', '1']);
  });
});
