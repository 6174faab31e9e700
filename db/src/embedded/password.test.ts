import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  embeddedDataDirCandidates,
  embeddedUrl,
  findEmbeddedPassword,
  generatePassword,
  PASSWORD_FILE,
  readEmbeddedPassword,
  fallbackDataDir,
  writeEmbeddedPassword,
} from './password';
import { userRoot } from './postgres-user';

describe('generatePassword', () => {
  test('is long, URL-safe and different every time', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes in base64url
    expect(generatePassword()).not.toBe(a);
  });
});

describe('embeddedUrl', () => {
  test('carries the password and the database, both encoded', () => {
    const url = new URL(embeddedUrl(54329, 'p@ss/word', 'my db'));
    expect(url.username).toBe('postgres');
    expect(decodeURIComponent(url.password)).toBe('p@ss/word');
    expect(url.host).toBe('127.0.0.1:54329');
    expect(url.pathname).toBe('/my%20db');
  });
});

describe('embeddedDataDirCandidates', () => {
  test('EMBEDDED_PG_DIR alone when set, relative to the clone (not the working folder)', () => {
    expect(embeddedDataDirCandidates('/src/app', 'rel/data')).toEqual(['/src/app/rel/data']);
    expect(embeddedDataDirCandidates('/src/app', '/var/tmp/data')).toEqual(['/var/tmp/data']);
  });
  test("else the clone folder, then its stand-in in the running user's own folder", () => {
    const [own, fallback] = embeddedDataDirCandidates('/src/app');
    expect(own).toBe('/src/app/.data/postgres');
    expect(fallback).toBe(fallbackDataDir('/src/app'));
    expect(fallback).toMatch(new RegExp(`^${userRoot()}/data-[0-9a-f]{12}$`));
    expect(fallbackDataDir('/src/other')).not.toBe(fallback);
  });
  test('the stand-in lives in a folder named after the user, not in one every user shares', () => {
    expect(userRoot(0)).toBe('/var/tmp/realtime-outbox-0');
    expect(userRoot(1000)).toBe('/var/tmp/realtime-outbox-1000');
    expect(fallbackDataDir('/src/app').startsWith(`${userRoot(process.getuid!())}/`)).toBe(true);
  });
});

describe('the password file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-password-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('is written with mode 0600 and read back', async () => {
    await writeEmbeddedPassword(dir, 'secret-1');
    expect((await fs.stat(path.join(dir, PASSWORD_FILE))).mode & 0o777).toBe(0o600);
    expect(readEmbeddedPassword(dir)).toBe('secret-1');
    await writeEmbeddedPassword(dir, 'secret-2');
    expect(readEmbeddedPassword(dir)).toBe('secret-2');
    expect(await fs.readdir(dir)).toEqual([PASSWORD_FILE]);
  });

  test('missing (or a missing folder) reads as null', () => {
    expect(readEmbeddedPassword(dir)).toBeNull();
    expect(readEmbeddedPassword(path.join(dir, 'nowhere'))).toBeNull();
  });

  test('empty is an error that names the fix', async () => {
    await fs.writeFile(path.join(dir, PASSWORD_FILE), '\n');
    expect(() => readEmbeddedPassword(dir)).toThrow(/is empty\. Write the superuser's password into it/);
  });

  test('a link in its place is refused, not followed', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    await fs.writeFile(elsewhere, 'not-a-password\n');
    await fs.symlink(elsewhere, path.join(dir, PASSWORD_FILE));
    expect(() => readEmbeddedPassword(dir)).toThrow(/is a symbolic link, which this process does not follow\. Remove the link/);
  });

  test('a link put under the name it is first written to is replaced, and what it names is left alone', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    await fs.writeFile(elsewhere, 'untouched\n', { mode: 0o644 });
    await fs.symlink(elsewhere, path.join(dir, `${PASSWORD_FILE}.tmp-${process.pid}`));
    await writeEmbeddedPassword(dir, 'secret-3');
    expect(readEmbeddedPassword(dir)).toBe('secret-3');
    expect(await fs.readFile(elsewhere, 'utf8')).toBe('untouched\n');
    expect((await fs.stat(elsewhere)).mode & 0o777).toBe(0o644);
    expect((await fs.lstat(path.join(dir, PASSWORD_FILE))).isFile()).toBe(true);
  });

  test('findEmbeddedPassword takes the first folder that has one', async () => {
    const second = path.join(dir, 'second');
    await fs.mkdir(second);
    await writeEmbeddedPassword(second, 'from-second');
    expect(findEmbeddedPassword([path.join(dir, 'first'), second])).toEqual({ dataDir: second, password: 'from-second' });
    expect(findEmbeddedPassword([path.join(dir, 'first')])).toBeNull();
  });
});
