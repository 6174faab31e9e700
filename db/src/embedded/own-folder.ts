// Folders this process stages code into or keeps Postgres data in, checked with lstat on
// every use and after every mkdir: a folder another user made first, or a link, is refused.
import fs from 'node:fs/promises';
import path from 'node:path';
import { firstUnsafe, isLink, unsafeReason, type OwnedStat, type PathCheck, type Unsafe } from './ownership';

export class UnsafeFolderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnsafeFolderError';
  }
}

export const currentUid = (): number => process.getuid?.() ?? 0;

/** Who may own what this process trusts: root, and the user it runs as. */
export const trustedOwners = (): number[] => [...new Set([0, currentUid()])];

const owned = (p: string, s: { mode: number; uid: number }): OwnedStat => ({ path: p, mode: s.mode, uid: s.uid });

const missing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/** lstat of each component from / down to `target`, up to the first that does not exist. */
async function lstatChain(target: string): Promise<{ chain: OwnedStat[]; complete: boolean }> {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  const chain: OwnedStat[] = [];
  for (let i = 0; i <= parts.length; i++) {
    const p = path.sep + parts.slice(0, i).join(path.sep);
    try {
      chain.push(owned(p, await fs.lstat(p)));
    } catch (err) {
      if (missing(err)) return { chain, complete: false };
      throw err;
    }
  }
  return { chain, complete: true };
}

/**
 * The first unsafe component on the way to `target`, or null. When `target` does not
 * exist yet, what exists is all above it.
 */
export async function unsafeOnPath(target: string, trusted: readonly number[], opts: Omit<PathCheck, 'complete'> = {}): Promise<Unsafe | null> {
  const { chain, complete } = await lstatChain(target);
  return firstUnsafe(chain, trusted, { ...opts, complete });
}

/**
 * Makes `dir` and the folders missing above it (mode 0755: the postgres user enters
 * them), each checked with lstat before going deeper, so that a component someone else
 * made between two steps (mkdir then says EEXIST) is caught before anything goes in it.
 */
export async function ensureOwnFolder(dir: string, trusted: readonly number[], opts: Pick<PathCheck, 'parentOnly'> = {}): Promise<Unsafe | null> {
  const abs = path.resolve(dir);
  const before = await unsafeOnPath(abs, trusted, opts);
  if (before) return before;
  const parts = abs.split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = path.sep + parts.slice(0, i).join(path.sep);
    let made = true;
    try {
      await fs.mkdir(p, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      made = false;
    }
    const s = owned(p, await fs.lstat(p));
    const reason = unsafeReason(s, trusted, i === parts.length && !opts.parentOnly ? 'target' : 'ancestor');
    if (reason) return { path: p, reason };
    // The umask may have taken the bits the postgres user needs to enter. Ours, in a
    // parent nobody else can write, so the name cannot have been swapped since lstat.
    if (made && !isLink(s)) await fs.chmod(p, 0o755);
  }
  return unsafeOnPath(abs, trusted, opts);
}

/** The first entry under `root` (not root itself) that another user could have made or changed. */
export async function unsafeInTree(root: string, trusted: readonly number[]): Promise<Unsafe | null> {
  for (const name of await fs.readdir(root)) {
    const p = path.join(root, name);
    const s = await fs.lstat(p);
    const reason = unsafeReason(owned(p, s), trusted, 'content');
    if (reason) return { path: p, reason };
    if (s.isDirectory()) {
      const inner = await unsafeInTree(p, trusted);
      if (inner) return inner;
    }
  }
  return null;
}
