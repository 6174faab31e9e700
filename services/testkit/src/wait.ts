// Waiting for a state, never for a duration: a test polls what it needs (a row, a log
// line, a status) until it holds, and a timeout is only how long before it gives up and
// says what it was waiting for.

export interface WaitOptions {
  /** What the wait is for, in the error when it gives up ("the replicator to lead"). */
  what: string;
  /** How long before giving up; a bound on a stuck test, not a statement about speed. */
  timeoutMs?: number;
  /** Time between probes. */
  everyMs?: number;
  /** The clock the deadline is read from (tests of waitFor itself give their own). */
  now?: () => number;
  /** How the wait between probes passes. */
  sleep?: (ms: number) => Promise<void>;
}

/** A probe's answer: anything truthy ends the wait and is returned. */
export type Probe<T> = () => T | null | undefined | false | Promise<T | null | undefined | false>;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Probes until the answer is truthy and returns it. A probe that throws counts as not yet
 * (a server still starting refuses connections); the last error is named if time runs out.
 *
 * Two spellings: `waitFor(probe, { what, timeoutMs })`, and the positional
 * `waitFor(what, probe, timeoutMs?, everyMs?)` the database tests were written with.
 */
export function waitFor<T>(probe: Probe<T>, opts: WaitOptions): Promise<T>;
export function waitFor<T>(what: string, probe: Probe<T>, timeoutMs?: number, everyMs?: number): Promise<T>;
export async function waitFor<T>(a: Probe<T> | string, b: WaitOptions | Probe<T>, timeoutMs?: number, everyMs?: number): Promise<T> {
  const [probe, opts] = typeof a === 'string' ? [b as Probe<T>, { what: a, timeoutMs, everyMs }] : [a, b as WaitOptions];
  const { what, now = Date.now, sleep: pause = sleep } = opts;
  const limit = opts.timeoutMs ?? 30_000;
  const every = opts.everyMs ?? 50;
  const deadline = now() + limit;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (now() >= deadline) throw new Error(waitFailure(what, limit, last));
    await pause(every);
  }
}

/** The error of a wait that ran out: what it waited for, for how long, and the probe's last error. */
export function waitFailure(what: string, timeoutMs: number, last: unknown): string {
  const seconds = timeoutMs >= 1000 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`;
  const cause = last === null || last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`;
  return `timed out after ${seconds} waiting for ${what}${cause}`;
}

/**
 * The first output line that `match` accepts, waiting for more output until it comes.
 * `output` is the text so far (a process's stdout and stderr as a test collects them).
 */
export function waitForLine(output: () => string, match: RegExp | ((line: string) => boolean), opts: WaitOptions): Promise<string> {
  const test = typeof match === 'function' ? match : (line: string) => match.test(line);
  return waitFor(() => output().split('\n').find(test), opts);
}
