// A real redis-server for a test: Debian's binary, on a free port of 127.0.0.1, in a
// temporary folder of its own, persistence off, ready once it answers PING. A test can
// kill it, freeze it (SIGSTOP) and bring back an empty one on the same port. No
// redis-server outlives the test process: each has a watchdog that kills it when the
// process that started it goes away, however it goes.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait';

export interface RedisOptions {
  /** More redis-server arguments (`['--stream-node-max-entries', '1']`). */
  args?: string[];
  /** How long to wait for PING to answer before giving up. */
  timeoutMs?: number;
}

export interface RunningRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Its temporary folder (removed by `stop()`). */
  dir: string;
  /** The pid of the current redis-server process. */
  readonly pid: number;
  /** Whether the current process is alive (a paused one is). */
  readonly running: boolean;
  /** SIGTERM (SIGKILL if it lingers), then the folder removed. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash; the folder stays for `restart()`. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers. */
  pause(): Promise<void>;
  /** SIGCONT, resolved once it answers PING again. */
  resume(): Promise<void>;
  /** A fresh, empty process on the same port (the current one killed first if alive). */
  restart(): Promise<void>;
}

export const REDIS_INSTALL_HINT = 'apt-get install -y redis-server';

/**
 * Where redis-server is: the first executable one on PATH, else Debian's /usr/bin; an
 * error naming the package otherwise.
 */
export function findRedisServer(pathVar: string | undefined, isExecutable: (file: string) => boolean): string {
  const candidates = [...(pathVar ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'redis-server')), '/usr/bin/redis-server'];
  const found = candidates.find(isExecutable);
  if (found) return found;
  throw new Error(`redis-server was not found on PATH nor at /usr/bin/redis-server; the Redis tests need Debian's package: ${REDIS_INSTALL_HINT}`);
}

/** The command line of one redis-server: its port, its folder, nothing written to disk. */
export function redisArgs(port: number, dir: string, extra: string[] = []): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '', ...extra];
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago (the kernel's pick); a start that loses the race retries. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** One PING over a raw socket: true on +PONG; rejects on refusal, silence or anything else. */
export function ping(port: number, timeoutMs = 1000): Promise<true> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (err: Error | null) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(true);
    };
    const timer = setTimeout(() => done(new Error(`no answer to PING on port ${port} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (err) => done(err));
    sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d: Buffer) => {
      got += d.toString();
      if (!got.includes('\r\n')) return;
      done(got.startsWith('+PONG') ? null : new Error(`PING on port ${port} answered ${JSON.stringify(got.trim())}`));
    });
  });
}

// Every live redis-server of this process, killed at exit: the path for a test process
// that ends normally (the watchdogs cover one that is killed).
const live = new Set<ChildProcess>();
let exitHook = false;
function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

/**
 * A shell that waits on a pipe from this process and SIGKILLs the server when the pipe
 * closes: the kernel closes it however this process ends (SIGKILL included), which an
 * exit hook alone does not survive.
 */
function watchdog(pid: number): ChildProcess {
  const dog = spawn('/bin/sh', ['-c', 'read _; kill -9 "$0" 2>/dev/null', String(pid)], { stdio: ['pipe', 'ignore', 'ignore'] });
  dog.on('error', () => {});
  dog.stdin!.on('error', () => {});
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
  return dog;
}

interface Proc {
  proc: ChildProcess;
  dog: ChildProcess | null;
  output: () => string;
  exited: Promise<void>;
}

function launch(bin: string, port: number, dir: string, extra: string[]): Proc {
  const proc = spawn(bin, redisArgs(port, dir, extra), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // A spawn failure (ENOENT, EACCES) arrives as 'error' and then 'exit'; its message is the output.
  proc.on('error', (err) => (out += `\n${err.message}`));
  track(proc);
  // No pid: the spawn failed and there is nothing to guard (and `kill -9 0` would hit our group).
  const dog = proc.pid === undefined ? null : watchdog(proc.pid);
  // Once the server is gone its watchdog goes too, before the pid can name another process.
  proc.once('exit', () => dog?.kill('SIGKILL'));
  return { proc, dog, output: () => out, exited };
}

function alive(p: Proc): boolean {
  return p.proc.exitCode === null && p.proc.signalCode === null;
}

/** Waits until the process answers PING; kills it and throws its output if it exits or never answers. */
async function untilReady(p: Proc, port: number, timeoutMs: number): Promise<void> {
  try {
    await waitFor(
      async () => {
        if (!alive(p)) throw new Error(`redis-server exited before it answered PING:\n${p.output()}`);
        return ping(port, 500);
      },
      { what: `redis-server on port ${port} to answer PING`, timeoutMs, everyMs: 20 },
    );
  } catch (err) {
    await end(p, 'SIGKILL');
    throw new Error(`${(err as Error).message}\nredis-server output:\n${p.output()}`);
  }
}

async function end(p: Proc, signal: NodeJS.Signals): Promise<void> {
  if (alive(p)) {
    p.proc.kill(signal);
    // A stopped process only dies of SIGKILL; SIGCONT lets it act on a SIGTERM.
    if (signal !== 'SIGKILL') p.proc.kill('SIGCONT');
  }
  await p.exited;
}

/** The one-letter state of a process (Linux /proc), or null where there is no /proc. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Starts a redis-server for a test; see `RunningRedis`. */
export async function startRedis(opts: RedisOptions = {}): Promise<RunningRedis> {
  const bin = findRedisServer(process.env.PATH, executable);
  const extra = opts.args ?? [];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realtime-redis-'));
  let port = 0;
  let current: Proc | null = null;
  // The kernel's free port can be taken before redis binds it: a few tries on fresh ports.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const p = launch(bin, port, dir, extra);
    try {
      await untilReady(p, port, timeoutMs);
      current = p;
      break;
    } catch (err) {
      if (attempt < 5 && /Address already in use/i.test(p.output())) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  let proc: Proc = current;
  let stopped = false;

  const handle: RunningRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return proc.proc.pid ?? 0;
    },
    get running() {
      return alive(proc);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await end(proc, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await end(proc, 'SIGKILL');
    },
    async pause() {
      if (!alive(proc)) throw new Error(`redis-server on port ${port} is not running: nothing to pause (restart() first)`);
      proc.proc.kill('SIGSTOP');
      const pid = proc.proc.pid ?? 0;
      if (procState(pid) !== null) await waitFor(() => procState(pid) === 'T', { what: `redis-server (pid ${pid}) to stop on SIGSTOP` });
    },
    async resume() {
      if (!alive(proc)) throw new Error(`redis-server on port ${port} is not running: nothing to resume (restart() first)`);
      proc.proc.kill('SIGCONT');
      await untilReady(proc, port, timeoutMs);
    },
    async restart() {
      if (stopped) throw new Error(`redis-server on port ${port} was stopped: start a new one with startRedis()`);
      await end(proc, 'SIGKILL');
      // Persistence is off, so the new process starts empty; the folder is emptied anyway.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const next = launch(bin, port, dir, extra);
      proc = next;
      await untilReady(next, port, timeoutMs);
    },
  };
  return handle;
}
