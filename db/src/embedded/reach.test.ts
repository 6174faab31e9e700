import { describe, expect, test } from 'vitest';
import { allows, firstBlocked, type PathStat } from './reach';

const dir = (path: string, mode: number, uid = 0, gid = 0): PathStat => ({ path, mode, uid, gid });
const postgres = { uid: 101, gid: 104 };

describe('allows', () => {
  test.each([
    ['other x on 755', dir('/a', 0o755), 'x', true],
    ['no other x on 700', dir('/root', 0o700), 'x', false],
    ['owner bits for the owner', dir('/d', 0o700, 101, 0), 'x', true],
    ['group bits for the group', dir('/d', 0o750, 0, 104), 'x', true],
    ['group bits win over other for the group', dir('/d', 0o705, 0, 104), 'x', false],
    ['other r on 751', dir('/d', 0o751), 'r', false],
    ['other w on 1777-like 777', dir('/tmp', 0o777), 'w', true],
  ] as const)('%s', (_name, stat, need, expected) => {
    expect(allows(stat, postgres, need)).toBe(expected);
  });

  test('root is never blocked', () => {
    expect(allows(dir('/root', 0o700, 0, 0), { uid: 0, gid: 0 }, 'x')).toBe(true);
  });
});

describe('firstBlocked', () => {
  test.each([
    ['a clone under /work', [dir('/', 0o755), dir('/work', 0o755), dir('/work/app', 0o755)], null],
    ['a clone under a 0700 home', [dir('/', 0o755), dir('/root', 0o700), dir('/root/app', 0o755)], '/root'],
    ['a target without the needed bit', [dir('/', 0o755), dir('/opt', 0o755), dir('/opt/bin', 0o644)], '/opt/bin'],
    ['the first of two blocks', [dir('/', 0o755), dir('/a', 0o700), dir('/a/b', 0o700)], '/a'],
  ] as const)('%s', (_name, chain, blockedAt) => {
    expect(firstBlocked([...chain], postgres, 'x')?.path ?? null).toBe(blockedAt);
  });
});
