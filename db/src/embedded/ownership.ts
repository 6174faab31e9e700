// May this process trust a path it imports code from, or hands to the postgres user?
// Only if no other user could have made, swapped or changed any part of it: pure logic.

/** What lstat says of one path component (the link itself, never what it points to). */
export interface OwnedStat {
  path: string;
  /** st_mode with the file type and the sticky bit, as lstat gives it. */
  mode: number;
  uid: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const STICKY = 0o1000;
const GROUP_OR_OTHER_WRITE = 0o022;

export const isLink = (s: OwnedStat): boolean => (s.mode & S_IFMT) === S_IFLNK;
export const isDir = (s: OwnedStat): boolean => (s.mode & S_IFMT) === S_IFDIR;

/**
 * - `ancestor`: a folder above the target. A root-owned sticky folder (/tmp, /var/tmp) is
 *   fine: others may add entries there but cannot rename or remove one they do not own.
 * - `target`: the folder or file itself; nobody but its owner may write it.
 * - `content`: an entry inside a verified folder; a link is fine there, because only the
 *   folder's owner could have made or replaced it.
 */
export type Role = 'ancestor' | 'target' | 'content';

/** Why the component is unsafe, or null. `trusted`: the uids that may own it (root and the running user). */
export function unsafeReason(s: OwnedStat, trusted: readonly number[], role: Role): string | null {
  const mode = (s.mode & 0o7777).toString(8).padStart(4, '0');
  if (isLink(s)) {
    if (role !== 'content') return 'is a symbolic link';
    return trusted.includes(s.uid) ? null : `is a symbolic link owned by uid ${s.uid}`;
  }
  if (!trusted.includes(s.uid)) return `is owned by uid ${s.uid}, not by ${trusted.map((u) => `uid ${u}`).join(' or ')}`;
  if (role === 'ancestor' && !isDir(s)) return 'is not a folder';
  if ((s.mode & GROUP_OR_OTHER_WRITE) === 0) return null;
  if (role === 'ancestor' && s.uid === 0 && (s.mode & STICKY) !== 0) return null;
  return `can be written by users other than its owner (mode ${mode})`;
}

export interface Unsafe {
  path: string;
  reason: string;
}

export interface PathCheck {
  /** Owners allowed for the target alone (the postgres user owns its data folder, never the folders above it). */
  targetOwners?: readonly number[];
  /** The target is a folder to make things in, not one to trust alone: a root-owned sticky one (/var/tmp) will do. */
  parentOnly?: boolean;
  /** false: the chain stops above a target that does not exist yet, so all of it is above the target. */
  complete?: boolean;
}

/** The first unsafe component of a chain (from / down to the target, as lstat saw each), or null. */
export function firstUnsafe(chain: readonly OwnedStat[], trusted: readonly number[], opts: PathCheck = {}): Unsafe | null {
  for (const [i, s] of chain.entries()) {
    const isTarget = opts.complete !== false && i === chain.length - 1;
    const reason = unsafeReason(s, isTarget ? (opts.targetOwners ?? trusted) : trusted, isTarget && !opts.parentOnly ? 'target' : 'ancestor');
    if (reason) return { path: s.path, reason };
  }
  return null;
}
