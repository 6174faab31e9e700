// A client reached a bound: counted by bound in realtime_limit_hits_total, and logged
// (naming the bound and the variable that raises it) at most once a minute per bound,
// so that a flood of refusals costs a counter, not a log line each.
import type { Logger } from '@realtime/runtime';
import * as metrics from '../metrics';

/** Each bound a client can reach, and the environment variable that sets it (null: not configurable). */
export const LIMIT_VARIABLES = {
  socket_queue_bytes: 'SOCKET_QUEUE_BYTES',
  slow_socket_closed: 'SOCKET_QUEUE_BYTES',
  sockets_per_user: 'MAX_SOCKETS_PER_USER',
  subscriptions_per_socket: 'MAX_SUBSCRIPTIONS_PER_SOCKET',
  subscribes_per_second: 'SUBSCRIBES_PER_SECOND',
  replays_per_user: 'MAX_REPLAYS_PER_USER',
  origin: 'FRONTEND_URL',
} as const;

export type LimitName = keyof typeof LIMIT_VARIABLES;

/** The log line of a bound: what was reached and what to set to raise it. */
export function limitMessage(limit: LimitName): string {
  const variable = LIMIT_VARIABLES[limit];
  if (limit === 'origin') return `refused a handshake from an origin not in ${variable}: add the page's origin (scheme://host[:port]) to ${variable} (further ones this minute are counted in realtime_limit_hits_total{limit="origin"}, not logged)`;
  return `a client reached the ${limit} limit (raise it with ${variable}; further ones this minute are counted in realtime_limit_hits_total{limit="${limit}"}, not logged)`;
}

/** Whether a note last logged at `last` (ms, or undefined: never) is logged again at `now`. */
export const dueForLog = (last: number | undefined, now: number, windowMs: number): boolean => last === undefined || now - last >= windowMs;

export const NOTE_WINDOW_MS = 60_000;

export class LimitNotes {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A bound was reached: counted, and logged with who and the variable at most once a minute. */
  hit(limit: LimitName, who: Record<string, unknown>): void {
    metrics.limitHits.inc({ limit });
    if (!this.due(limit)) return;
    this.log.warn({ limit, variable: LIMIT_VARIABLES[limit], ...who }, limitMessage(limit));
  }

  /** Any other warning of which one a minute is enough; true when this one was logged. */
  once(key: string, detail: Record<string, unknown>, message: string): boolean {
    if (!this.due(key)) return false;
    this.log.warn(detail, message);
    return true;
  }

  private due(key: string): boolean {
    const now = this.now();
    if (!dueForLog(this.last.get(key), now, NOTE_WINDOW_MS)) return false;
    this.last.set(key, now);
    return true;
  }
}
