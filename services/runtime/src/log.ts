// One pino root per process; components take a child with their own context. Lines are
// JSON for machines (files, pipes, log collectors) and pretty for a person at a terminal.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from './env';
import { isStopping } from './process';

export type { Logger, LogFormat };

/** LOG_FORMAT when set; otherwise pretty only where a person reads the lines as they come (a terminal). */
export function chooseLogFormat(setting: LogFormat | undefined, isTTY: boolean | undefined): LogFormat {
  return setting ?? (isTTY === true ? 'pretty' : 'json');
}

export interface LogOptions {
  /** LOG_FORMAT; unset: chosen by whether the destination is a terminal. */
  format?: LogFormat;
  /** 1 (stdout, the default) or 2 (stderr, for CLIs whose stdout is their output). */
  fd?: 1 | 2;
  /** Colours in pretty lines; unset: when the destination is a terminal. */
  color?: boolean;
  /**
   * Each JSON line handed to this instead of written (a worker thread's lines, which its
   * parent writes with `writeForeignLine`, in order with its own).
   */
  sink?: (line: string) => void;
}

/** How a logger writes, for a worker thread that writes to the same destination. */
export interface LogStyle {
  format: LogFormat;
  color: boolean;
}

// Children inherit from their root (pino's child is an Object.create of it), so a worker
// thread started from any component's logger can write in the format its process chose.
const STYLE = Symbol('realtime.logStyle');

export function createLogger(level: string = 'info', base: Record<string, unknown> = {}, opts: LogOptions = {}): Logger {
  const fd = opts.fd ?? 1;
  const isTTY = (fd === 2 ? process.stderr : process.stdout).isTTY;
  const style: LogStyle = { format: chooseLogFormat(opts.format, isTTY), color: opts.color ?? isTTY === true };
  const options = {
    level,
    base: { pid: process.pid, ...base },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void, level: number) {
        if (level < 40 || !connectionLost((args[0] as { err?: unknown } | undefined)?.err)) return method.apply(this, args);
        reportLoss(() => method.apply(this, args), () => this.debug(...args));
      },
    },
  };
  // Synchronous destinations: a process that exits right after a line (Ctrl-C, a failed
  // start) still prints it.
  const sink = opts.sink;
  const log = sink
    ? pino(options, { write: (line: string) => sink(line) })
    : style.format === 'pretty'
      ? pino(options, pretty({
          destination: fd,
          sync: true,
          colorize: style.color,
          translateTime: 'SYS:HH:MM:ss.l',
          // One line a record, the component first; pid and host say nothing on one's own machine.
          singleLine: true,
          messageFormat: '{if component}{component}: {end}{msg}',
          ignore: 'pid,hostname,service,component',
        }))
      : pino(options, pino.destination({ dest: fd, sync: true }));
  Object.defineProperty(log, STYLE, { value: style });
  return log;
}

/**
 * Writes a JSON line that another thread logged (see `sink`) where this logger writes, as
 * this logger would (pretty or JSON): through the same stream, so that it keeps its place
 * among this thread's own lines, and the last line, `stopped`, stays last.
 */
export function writeForeignLine(log: Logger, line: string): void {
  (log as unknown as Record<symbol, { write(s: string): unknown }>)[pino.symbols.streamSym]!.write(line);
}

/** How a logger made by createLogger (or a child of one) writes; plain JSON for any other. */
export function logStyleOf(log: Logger): LogStyle {
  return (log as unknown as { [STYLE]?: LogStyle })[STYLE] ?? { format: 'json', color: false };
}

/**
 * Ctrl-C reaches the embedded Postgres too, which closes every connection at once, often
 * before the process's own handler has run (the signal waits for its event loop, or for
 * another thread's). Each component would then report the loss, at warn or error with a
 * stack, as if the database had failed. So a lost connection is reported after a grace:
 * at its level if the process is not stopping by then, at debug if it is.
 */
// 2.5 s: on a loaded machine a signal can wait that long for a busy event loop.
export const LOSS_GRACE_MS = 2500;
const pending = new Set<() => void>();
let flushOnExit = false;

function reportLoss(loud: () => void, quiet: () => void): void {
  if (isStopping()) return quiet();
  const settle = () => {
    pending.delete(settle);
    clearTimeout(timer);
    (isStopping() ? quiet : loud)();
  };
  const timer = setTimeout(settle, LOSS_GRACE_MS);
  timer.unref();
  // A process that ends within the grace (a crash after the loss) still prints it.
  if (!flushOnExit) process.once('exit', () => [...pending].forEach((s) => s()));
  flushOnExit = true;
  pending.add(settle);
}

// SQLSTATEs of a server going away (admin_shutdown, crash_shutdown, cannot_connect_now,
// connection_failure, connection_does_not_exist) and the socket errors of the same.
const LOST_CODES = new Set(['57P01', '57P02', '57P03', '08006', '08003', '08001', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
const LOST_MESSAGES = /Connection terminated|terminating connection due to administrator command|the database system is shutting down|Client was closed and is not queryable|Client has encountered a connection error and is not queryable|Cannot use a pool after calling end on the pool/;

/** Whether an error (or one it was caused by) is a lost or refused database connection. */
export function connectionLost(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && LOST_CODES.has(code)) return true;
    if (LOST_MESSAGES.test(e.message)) return true;
  }
  return false;
}
