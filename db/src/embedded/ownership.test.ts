import { describe, expect, test } from 'vitest';
import { firstUnsafe, unsafeReason, type OwnedStat, type Role } from './ownership';

const DIR = 0o040000;
const FILE = 0o100000;
const LINK = 0o120000;
const at = (path: string, mode: number, uid = 0): OwnedStat => ({ path, mode, uid });
const root = [0];
const rootAndUser = [0, 1000];

describe('unsafeReason', () => {
  test.each<[string, OwnedStat, readonly number[], Role, RegExp | null]>([
    ['a root folder 0755', at('/var/tmp/realtime-outbox-0', DIR | 0o755), root, 'target', null],
    ['a root folder 0700', at('/d', DIR | 0o700), root, 'target', null],
    ["another user's folder", at('/var/tmp/realtime-outbox-0', DIR | 0o755, 65534), root, 'target', /owned by uid 65534, not by uid 0$/],
    ["another user's folder above", at('/var/tmp/x', DIR | 0o755, 65534), root, 'ancestor', /owned by uid 65534/],
    ['the running user may own it', at('/home/u/x', DIR | 0o755, 1000), rootAndUser, 'target', null],
    ['a link as the target', at('/var/tmp/realtime-outbox-0', LINK | 0o777), root, 'target', /symbolic link/],
    ['a link above', at('/var/tmp/realtime-outbox-0', LINK | 0o777), root, 'ancestor', /symbolic link/],
    ['a root-owned link inside a checked folder', at('/s/lib/libpq.so', LINK | 0o777), root, 'content', null],
    ["another user's link inside", at('/s/lib/libpq.so', LINK | 0o777, 65534), root, 'content', /symbolic link owned by uid 65534/],
    ['group write', at('/d', DIR | 0o775), root, 'target', /other than its owner \(mode 0775\)/],
    ['other write', at('/d', DIR | 0o757), root, 'target', /mode 0757/],
    ['a file others can write', at('/s/bin/postgres', FILE | 0o757), root, 'content', /mode 0757/],
    ['a read-only binary', at('/s/bin/postgres', FILE | 0o555), root, 'content', null],
    ['a sticky root folder above (/var/tmp)', at('/var/tmp', DIR | 0o1777), root, 'ancestor', null],
    ['a sticky root folder as the target', at('/var/tmp', DIR | 0o1777), root, 'target', /mode 1777/],
    ["a sticky folder of another user's above", at('/tmp/x', DIR | 0o1777, 65534), root, 'ancestor', /owned by uid 65534/],
    ['a sticky folder of the running user above', at('/home/u/t', DIR | 0o1777, 1000), rootAndUser, 'ancestor', /mode 1777/],
    ['a world-writable root folder above without the sticky bit', at('/shared', DIR | 0o777), root, 'ancestor', /mode 0777/],
    ['a file where a folder must be', at('/f', FILE | 0o644), root, 'ancestor', /not a folder/],
  ])('%s', (_name, stat, trusted, role, want) => {
    const reason = unsafeReason(stat, trusted, role);
    if (want === null) expect(reason).toBeNull();
    else expect(reason).toMatch(want);
  });
});

describe('firstUnsafe', () => {
  const top = [at('/', DIR | 0o755), at('/var', DIR | 0o755), at('/var/tmp', DIR | 0o1777)];
  test.each<[string, OwnedStat[], readonly number[] | undefined, string | null]>([
    ['root made it', [...top, at('/var/tmp/realtime-outbox-0', DIR | 0o755)], undefined, null],
    ['another user made it first', [...top, at('/var/tmp/realtime-outbox-0', DIR | 0o755, 65534)], undefined, '/var/tmp/realtime-outbox-0'],
    ['a link planted there', [...top, at('/var/tmp/realtime-outbox-0', LINK | 0o777, 65534)], undefined, '/var/tmp/realtime-outbox-0'],
    ['writable by its group', [...top, at('/var/tmp/realtime-outbox-0', DIR | 0o775)], undefined, '/var/tmp/realtime-outbox-0'],
    ['a data folder the postgres user owns, when allowed for the target', [...top, at('/var/tmp/r', DIR | 0o755), at('/var/tmp/r/data', DIR | 0o700, 101)], [0, 101], null],
    ['a parent the postgres user owns is never allowed', [...top, at('/var/tmp/r', DIR | 0o755, 101), at('/var/tmp/r/data', DIR | 0o700, 101)], [0, 101], '/var/tmp/r'],
    ['the first of two problems', [at('/', DIR | 0o755), at('/a', DIR | 0o777), at('/a/b', DIR | 0o755, 65534)], undefined, '/a'],
  ])('%s', (_name, chain, targetOwners, want) => {
    expect(firstUnsafe(chain, root, { targetOwners })?.path ?? null).toBe(want);
  });

  const varTmp = [...top.slice(0, 2), at('/var/tmp', DIR | 0o1777)];
  test.each<[string, OwnedStat[], Parameters<typeof firstUnsafe>[2], string | null]>([
    ['a folder to make a data folder in may be sticky and root-owned (EMBEDDED_PG_DIR=/var/tmp/pg)', varTmp, { parentOnly: true }, null],
    ['a folder trusted alone may not', varTmp, {}, '/var/tmp'],
    ['a missing target: all that exists is above it', varTmp, { complete: false }, null],
    ['above a missing target, a folder of another user still counts', [...varTmp, at('/var/tmp/x', DIR | 0o755, 65534)], { complete: false }, '/var/tmp/x'],
  ])('%s', (_name, chain, opts, want) => {
    expect(firstUnsafe(chain, root, opts)?.path ?? null).toBe(want);
  });
});
