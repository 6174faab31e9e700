// Which embedded Postgres a command of this clone uses: `npm start`, `npm run db:migrate`,
// `npm run db:url`, drizzle-kit (generate, studio) and the CLIs must all reach the same
// cluster, whatever folder they run from and whichever variables they were given, or a
// migration lands in a second cluster nobody looks at. Synchronous and light, because
// drizzle.config.ts uses it too.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_EMBEDDED_PG_PORT } from '../env';

/** The server that runs on a data folder, as its postmaster.pid says. */
export interface Postmaster {
  pid: number;
  port: number;
}

/** A cluster of this clone: its data folder and the port it listens on. */
export interface ClusterPlace {
  dataDir: string;
  port: number;
}

/** EMBEDDED_PG_DIR, relative to the clone (not to the folder a command runs in). */
export function anchoredDataDir(repoRoot: string, pgDir: string): string {
  return path.resolve(repoRoot, pgDir);
}

/**
 * postmaster.pid's first line is the server's pid, its fourth the port (Postgres's own
 * layout, the same since 9.1); null for anything else.
 */
export function parsePostmasterPid(text: string): Postmaster | null {
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { pid, port };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user (the postgres user, when root started it).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The server running on `dataDir` now; null when none does (no pid file, or one left by a crash). */
export function runningPostmaster(dataDir: string): Postmaster | null {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const found = parsePostmasterPid(text);
  return found && alive(found.pid) ? found : null;
}

/**
 * Where the process that started this clone's cluster says it runs, so that a command
 * given other variables (or none) than `npm start` still finds it. Beside the default
 * data folder, in the clone's git-ignored .data.
 */
export const recordFile = (repoRoot: string): string => path.join(repoRoot, '.data', 'embedded-postgres.json');

/** The recorded cluster, when it still runs where the record says. */
export function runningRecorded(repoRoot: string): ClusterPlace | null {
  let recorded: Partial<ClusterPlace>;
  try {
    recorded = JSON.parse(readFileSync(recordFile(repoRoot), 'utf8')) as Partial<ClusterPlace>;
  } catch {
    return null;
  }
  if (typeof recorded.dataDir !== 'string') return null;
  const running = runningPostmaster(recorded.dataDir);
  return running ? { dataDir: recorded.dataDir, port: running.port } : null;
}

export function writeRecord(repoRoot: string, place: ClusterPlace): void {
  const file = recordFile(repoRoot);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(place)}\n`);
}

/** Removes the record if it still names this cluster (a later start may have replaced it). */
export function clearRecord(repoRoot: string, place: ClusterPlace): void {
  try {
    const recorded = JSON.parse(readFileSync(recordFile(repoRoot), 'utf8')) as Partial<ClusterPlace>;
    if (recorded.dataDir === place.dataDir) rmSync(recordFile(repoRoot), { force: true });
  } catch {
    // No record, or not ours to judge: leave it; readers check that its server runs.
  }
}

export type EmbeddedPlan =
  /** A server runs there: use it (its port is the one its pid file names). */
  | { kind: 'reuse'; dataDir: string; port: number; reason: 'data folder' | 'recorded' }
  /** Nothing runs there: start a server; `beside` names the clone's running cluster when this is a deliberate second one. */
  | { kind: 'start'; dataDir: string; port: number; beside?: ClusterPlace }
  /** Starting would make a second cluster beside the running one. */
  | { kind: 'conflict'; message: string };

export interface PlanInput {
  /** The data folder this command chose (EMBEDDED_PG_DIR, anchored, or the default). */
  dataDir: string;
  /** EMBEDDED_PG_DIR was set: the folder is the caller's explicit choice. */
  dirFromEnv: boolean;
  /** EMBEDDED_PG_PORT, or its default. */
  port: number;
  /** EMBEDDED_PG_PORT was set: with EMBEDDED_PG_DIR, a second cluster is asked for on purpose (tests, a comparison). */
  portFromEnv: boolean;
  /** The server running on `dataDir`, if any. */
  running: Postmaster | null;
  /** The cluster this clone recorded, if it still runs. */
  recorded: ClusterPlace | null;
}

/**
 * One answer for every command: the server on the chosen folder if one runs; else the
 * clone's recorded running cluster (a command without `npm start`'s variables still
 * reaches it); else start one. Naming another folder while the recorded cluster runs
 * would start a second cluster: refused with the way out, unless the port is named too,
 * which only a deliberate second cluster does.
 */
export function planEmbedded(input: PlanInput): EmbeddedPlan {
  if (input.running) return { kind: 'reuse', dataDir: input.dataDir, port: input.running.port, reason: 'data folder' };
  const other = input.recorded && input.recorded.dataDir !== input.dataDir ? input.recorded : null;
  if (!other) return { kind: 'start', dataDir: input.dataDir, port: input.port };
  if (!input.dirFromEnv) return { kind: 'reuse', dataDir: other.dataDir, port: other.port, reason: 'recorded' };
  if (input.portFromEnv) return { kind: 'start', dataDir: input.dataDir, port: input.port, beside: other };
  return {
    kind: 'conflict',
    message:
      `This clone's embedded Postgres already runs on data folder ${other.dataDir} (port ${other.port}), ` +
      `but EMBEDDED_PG_DIR=${input.dataDir} here would start a second cluster beside it. ` +
      `To use the running one, unset EMBEDDED_PG_DIR (or set EMBEDDED_PG_DIR=${other.dataDir}); ` +
      'to use the other folder, stop the running one first (Ctrl-C in the terminal of its `npm start`), ' +
      'or set EMBEDDED_PG_PORT too if you do want a second cluster; or set DATABASE_URL to say which server to use.',
  };
}

/** planEmbedded on what the disk says now. */
export function locateEmbedded(repoRoot: string, dataDir: string, opts: { dirFromEnv: boolean; port: number | undefined }): EmbeddedPlan {
  return planEmbedded({
    dataDir,
    dirFromEnv: opts.dirFromEnv,
    port: opts.port ?? DEFAULT_EMBEDDED_PG_PORT,
    portFromEnv: opts.port !== undefined,
    running: runningPostmaster(dataDir),
    recorded: runningRecorded(repoRoot),
  });
}
