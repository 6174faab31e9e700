import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { demoUsersFile, showDemoUsers } from './banner';

const users = [
  { email: 'owner@demo.example', password: 'owner-secret-123456', role: 'owner' },
  { email: 'operator@demo.example', password: 'operator-secret-123456', role: 'operator' },
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'banner-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('showDemoUsers', () => {
  test('on a terminal: the passwords in the banner, no file', async () => {
    const file = path.join(dir, 'demo-users.txt');
    const shown = await showDemoUsers(users, { tty: true, file });
    expect(shown.file).toBeNull();
    expect(shown.lines.join('\n')).toContain('owner-secret-123456');
    expect(() => statSync(file)).toThrow();
  });

  test('into a pipe or a log: no password in the banner; a 0600 file holds them, and the banner names it', async () => {
    const file = path.join(dir, 'sub', 'demo-users.txt');
    const shown = await showDemoUsers(users, { tty: false, file });
    const banner = shown.lines.join('\n');
    expect(banner).not.toContain('secret');
    expect(banner).toContain(file);
    expect(banner).toContain('owner@demo.example');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/operator@demo\.example\s+operator-secret-123456\s+operator: audits every change/);
  });

  test('an existing file readable by others is replaced by a private one', async () => {
    const file = path.join(dir, 'demo-users.txt');
    writeFileSync(file, 'old', { mode: 0o644 });
    await showDemoUsers(users, { tty: false, file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('owner-secret-123456');
  });

  test('a link planted where the file goes is replaced, never written through', async () => {
    const target = path.join(dir, 'elsewhere.txt');
    writeFileSync(target, 'untouched', { mode: 0o644 });
    const file = path.join(dir, 'demo-users.txt');
    symlinkSync(target, file);
    await showDemoUsers(users, { tty: false, file });
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('demoUsersFile', () => {
  test.each([
    ['DEMO_USERS_FILE, relative to the clone', 'secrets/demo.txt', '/clone', '/clone/.data/postgres', '/clone/secrets/demo.txt'],
    ['DEMO_USERS_FILE, absolute', '/etc/demo.txt', '/clone', null, '/etc/demo.txt'],
    ['the embedded cluster: in its data folder, beside its own password', undefined, '/clone', '/clone/.data/postgres', '/clone/.data/postgres/demo-users.txt'],
    ['a second cluster (EMBEDDED_PG_DIR): its own folder, not the first one\'s', undefined, '/clone', '/tmp/t/data', '/tmp/t/data/demo-users.txt'],
    ['DATABASE_URL: the clone\'s .data', undefined, '/clone', null, '/clone/.data/demo-users.txt'],
  ])('%s', (_why, setting, clone, dataDir, want) => {
    expect(demoUsersFile(setting, clone, dataDir)).toBe(want);
  });
});
