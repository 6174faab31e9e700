// Reconnection delays: exponential from 500 ms, capped at 30 s, with jitter from an
// injected random source so that tests (and fake timers) see exact values.
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** 0..1: how much of the delay is randomised. */
  jitter?: number;
}

export function backoffDelay(attempt: number, random: () => number = Math.random, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  const jitter = opts.jitter ?? 0.2;
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.round(Math.min(max, raw * (1 - jitter + 2 * jitter * random())));
}
