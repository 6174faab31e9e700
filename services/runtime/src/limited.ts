// Requests refused at a bound (a rate limit, the body size, the request deadline): counted
// by limit for /metrics, and logged at most once a window per client so that an attack
// cannot flood the log with the news of itself.
import type { Logger } from './log';
import { httpLimited } from './metrics';

export type Limit = 'sign_in_email' | 'sign_in_ip' | 'writes' | 'body_size' | 'timeout' | 'header_size';

/**
 * Which (limit, client) pairs were reported in the current window. Time comes in as `now`;
 * the map is bounded: past `maxKeys` it starts over, so that a spray of addresses costs
 * at most some repeated lines, never memory.
 */
export class WarnWindow {
  private seen = new Map<string, number>();
  constructor(
    private readonly windowMs = 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** True the first time `key` is seen in a window. */
  first(key: string, now: number): boolean {
    const last = this.seen.get(key);
    if (last !== undefined && now - last < this.windowMs) return false;
    if (this.seen.size >= this.maxKeys) this.seen.clear();
    this.seen.set(key, now);
    return true;
  }
}

const window = new WarnWindow();

/** Count a refusal and warn once a minute per client; `who` names the client, never a secret. */
export function noteLimited(log: Logger | { warn: Logger['warn'] }, limit: Limit, who: Record<string, string | undefined>, now = Date.now()): void {
  httpLimited.inc({ limit });
  if (window.first(`${limit}|${JSON.stringify(who)}`, now)) log.warn({ limit, ...who }, `refused at the ${limit} bound (once a minute per client)`);
}
