// Where the demo users' passwords go when `npm start` seeds them: onto a terminal, where
// the person who started it reads them once, and never into a pipe or a log file that
// outlives the moment (a service manager's journal, `npm start > app.log`). Anything else
// gets a file only its owner can read, and the banner names that file.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DemoUser } from './demo';

/** What each demo account is for, as the banner says it. */
export const DEMO_ROLE_TEXT: Record<string, string> = {
  owner: 'owner of two projects',
  viewer: 'viewer of a third',
  operator: 'operator: audits every change of every project (the outbox, with row images)',
};

/**
 * Where the passwords go when the output is no terminal: DEMO_USERS_FILE (relative to the
 * clone) when set; else beside the embedded cluster's own superuser password, in its data
 * folder, so that a second cluster (a test's, EMBEDDED_PG_DIR) never overwrites the first's
 * file; else, with DATABASE_URL, `.data/demo-users.txt` in the clone.
 */
export function demoUsersFile(setting: string | undefined, clone: string, embeddedDataDir: string | null): string {
  if (setting) return path.resolve(clone, setting);
  if (embeddedDataDir) return path.join(embeddedDataDir, 'demo-users.txt');
  return path.join(clone, '.data', 'demo-users.txt');
}

/** One line per account: email, password, what it is for. */
export function demoUserLines(users: DemoUser[]): string[] {
  return users.map((u) => `    ${u.email.padEnd(24)} ${u.password}   ${DEMO_ROLE_TEXT[u.role] ?? u.role}`);
}

export interface Shown {
  /** The lines for the banner. */
  lines: string[];
  /** The file the passwords were written to, when not on a terminal. */
  file: string | null;
}

/**
 * The banner's demo-user part: the passwords themselves on a terminal, else written to
 * `file` (mode 0600, replaced whole) and only its path in the banner.
 */
export async function showDemoUsers(users: DemoUser[], opts: { tty: boolean; file: string }): Promise<Shown> {
  const intro = '  Sign in as one of the demo users';
  const reset = '`npm run users -- reset-password <email>` makes a new one';
  if (opts.tty) {
    return { lines: ['', `${intro} (passwords shown this once; ${reset}):`, ...demoUserLines(users)], file: null };
  }
  await writePrivate(opts.file, `${['# Demo users of realtime-outbox: email, password, what the account is for', ...demoUserLines(users).map((l) => l.trim())].join('\n')}\n`);
  const emails = users.map((u) => u.email).join(', ');
  return {
    lines: ['', `${intro}: ${emails}.`, `  Their passwords are in ${opts.file} (readable by its owner only; output is not a terminal, so they are not printed; ${reset}).`],
    file: opts.file,
  };
}

/**
 * Writes a file nobody but this user can read: a new file made with O_EXCL and mode 0600,
 * so an existing one (or a link planted in its place) is removed first, never written through.
 */
export async function writePrivate(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.rm(file, { force: true });
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
