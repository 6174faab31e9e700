// The shared limits' one Redis connection, and the rule every limit follows with it: a
// reply from Redis is the count across processes; no reply (Redis away, erroring, or
// slower than `timeoutMs`) is null, and the caller counts in its own process. One warning
// when Redis goes (naming REDIS_URL), one line when it answers again; never a throw.
import type { Logger } from '@realtime/runtime';
import { createClient } from 'redis';

export interface SharedRedisOptions {
  /** redis://[user:password@]host:port[/db] (REDIS_URL). */
  url: string;
  /** The first part of every key (CHANGELOG_PREFIX). */
  prefix: string;
  log: Logger;
  /** A command not answered within this counts as Redis away (default 1000 ms): a frozen Redis must not hold requests. */
  timeoutMs?: number;
}

/** The URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an unreadable REDIS_URL';
  }
}

function makeClient(url: string) {
  return createClient({
    url,
    RESP: 2,
    // A command while Redis is away fails at once, and the limit is counted in the
    // process, instead of waiting in a queue for a server that may not come back.
    disableOfflineQueue: true,
    // Reconnects for as long as it takes, from the first try on: a process starts, and
    // serves, whether or not Redis is there yet.
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000), connectTimeout: 2000 },
  });
}

type Client = ReturnType<typeof makeClient>;

export class SharedRedis {
  readonly prefix: string;
  private readonly url: string;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly client: Client;
  private away = false;
  private closing = false;
  private started = false;

  constructor(opts: SharedRedisOptions) {
    if (opts.prefix === '') throw new RangeError('shared limits: the key prefix is empty; leave CHANGELOG_PREFIX unset for `realtime`, or name the deployment');
    this.prefix = opts.prefix;
    this.url = redactRedisUrl(opts.url);
    this.log = opts.log.child({ component: 'shared-limits' });
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.client = makeClient(opts.url);
    // The listener is also what keeps node-redis's 'error' events from ending the process.
    this.client.on('error', (err: unknown) => this.lost(err));
  }

  /** Whether the last command was answered (false while limits are counted per process). */
  get shared(): boolean {
    return this.started && !this.away;
  }

  /** Connects in the background: until Redis answers, every limit is counted per process. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.client.connect().catch((err: unknown) => this.lost(err));
  }

  async close(): Promise<void> {
    this.closing = true;
    if (!this.client.isOpen) return;
    await this.client.close().catch(() => this.client.destroy());
  }

  /** A script's reply, or null when Redis does not answer (the caller counts in its process). */
  script(sha: string, text: string, keys: string[], args: string[]): Promise<unknown> {
    return this.run(async (c) => {
      try {
        return await c.evalSha(sha, { keys, arguments: args });
      } catch (err) {
        // A restarted or flushed Redis has lost its script cache: send the script itself.
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return c.eval(text, { keys, arguments: args });
      }
    });
  }

  /** One command on the connection, or null when Redis does not answer. */
  async run<T>(fn: (c: Client) => Promise<T>): Promise<T | null> {
    if (!this.started || this.closing) return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        fn(this.client),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
          timer.unref();
        }),
      ]);
      this.answered();
      return reply;
    } catch (err) {
      this.lost(err);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  private lost(err: unknown): void {
    if (this.closing || this.away) return;
    this.away = true;
    this.log.warn({ err, url: this.url }, 'Redis (REDIS_URL) does not answer: sockets per user, sign-in and write budgets are counted per process until it does');
  }

  private answered(): void {
    if (!this.away) return;
    this.away = false;
    this.log.info({ url: this.url }, 'Redis (REDIS_URL) answers again: limits are counted across processes again');
  }
}
