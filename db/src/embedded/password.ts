// The embedded superuser's password: generated when a data folder is initialised and kept
// in that folder, so only who can read the folder's file can connect. Synchronous reads
// and no heavy imports, because drizzle.config.ts uses this too.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { userRoot } from './postgres-user';

export const EMBEDDED_USER = 'postgres';
export const PASSWORD_FILE = 'realtime-password';

/** 32 random bytes: URL-safe, so it goes into a connection string as it is. */
export const generatePassword = (): string => randomBytes(32).toString('base64url');

export const embeddedUrl = (port: number, password: string, database = 'postgres'): string =>
  `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

/** The file's password; null when there is no file (a data folder not initialised by us yet). */
export function readPasswordFile(file: string): string | null {
  let text: string;
  try {
    // The data folder is the postgres user's: a link put in the file's place would make
    // root read a file of that user's choosing and send it to that user's server.
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') {
      throw new Error(
        `The embedded Postgres password file ${file} is a symbolic link, which this process does not follow. ` +
          "Remove the link and write the superuser's password into a plain file there (mode 0600), or move the data folder away to start a new cluster.",
        { cause: err },
      );
    }
    throw new Error(
      `Cannot read the embedded Postgres password in ${file} (${code ?? 'unknown error'}). ` +
        'Run as the user who first started that data folder (often root), or set DATABASE_URL to a Postgres you run yourself.',
      { cause: err },
    );
  }
  const password = text.trim();
  if (!password) {
    throw new Error(
      `The embedded Postgres password file ${file} is empty. Write the superuser's password into it (mode 0600), ` +
        'or move the data folder away to start a new cluster.',
    );
  }
  return password;
}

export const readEmbeddedPassword = (dataDir: string): string | null => readPasswordFile(path.join(dataDir, PASSWORD_FILE));

/**
 * What an initialised data folder without its password file is told: the server's
 * password is not known here, and nothing guesses it. Folders made before passwords were
 * generated have the well-known one.
 */
export const missingPasswordMessage = (dataDir: string): string =>
  `The embedded Postgres data folder ${dataDir} holds a cluster but no ${PASSWORD_FILE} file, so its superuser's password is unknown. ` +
  `Write that password into ${path.join(dataDir, PASSWORD_FILE)} (mode 0600; a folder made by a version before generated passwords has "postgres": ` +
  `write that, start, then give the superuser a new password with ALTER USER postgres PASSWORD '...' and put it in the file), ` +
  'or move the data folder away to start a new cluster, or set DATABASE_URL to a Postgres you run yourself.';

/**
 * Written aside and renamed, so that a reader never sees half a password. The aside file
 * is made new (O_EXCL, which follows no link) and changed through its handle only: the
 * postgres user owns the folder and could put a link under that name meanwhile.
 */
export async function writePasswordFile(file: string, password: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await fs.rm(tmp, { force: true });
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      await handle.chmod(0o600); // the umask may have taken bits away, never added: make sure
      await handle.writeFile(`${password}\n`);
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

export const writeEmbeddedPassword = (dataDir: string, password: string): Promise<void> =>
  writePasswordFile(path.join(dataDir, PASSWORD_FILE), password);

/**
 * The data folders `npm start` may use, in the order `embeddedDataDir` considers them:
 * EMBEDDED_PG_DIR alone when set, else the clone's own folder, else the one in the running
 * user's own folder that stands in for it when the postgres user cannot enter the clone.
 */
export function embeddedDataDirCandidates(repoRoot: string, pgDir?: string): string[] {
  if (pgDir) return [path.resolve(repoRoot, pgDir)];
  return [path.join(repoRoot, '.data', 'postgres'), fallbackDataDir(repoRoot)];
}

export const fallbackDataDir = (repoRoot: string, root: string = userRoot()): string =>
  path.join(root, `data-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}`);

/** The first candidate that holds a password file, without knowing which one `npm start` picks. */
export function findEmbeddedPassword(dataDirs: string[]): { dataDir: string; password: string } | null {
  for (const dataDir of dataDirs) {
    const password = readEmbeddedPassword(dataDir);
    if (password) return { dataDir, password };
  }
  return null;
}
