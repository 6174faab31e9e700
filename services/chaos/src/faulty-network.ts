// One queue client's network, failing on a seeded roll: requests that never leave,
// answers lost after the server applied the write, slow answers, spells offline, and a
// pause that holds everything while the restore fault puts a backup back.
import type { Rng } from './rng';
import { sleep } from './stack';

export interface NetFaults {
  /** A request that fails before it leaves: the server never sees it. */
  fail: number;
  /** A request the server answers, whose answer is thrown away: applied, and the client cannot know. */
  lose: number;
  /** A request held back a while before it leaves. */
  delay: number;
  delayMs: readonly [number, number];
}

export const defaultNetFaults: NetFaults = { fail: 0.08, lose: 0.1, delay: 0.15, delayMs: [50, 800] };
export const noNetFaults: NetFaults = { fail: 0, lose: 0, delay: 0, delayMs: [0, 0] };

export interface NetStats {
  requests: number;
  failedBeforeSending: number;
  /** Answers thrown away, by the roll or by a disconnect while the request was out. */
  lostResponses: number;
  delayed: number;
  /** Requests failed because the client was offline. */
  offline: number;
}

/** The error fetch throws for a network failure (undici's is a TypeError too). */
const networkError = (why: string) => new TypeError(`fetch failed: ${why} (chaos)`);

/** `p`, or the signal's reason as soon as it aborts (`p` itself goes on). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * One client's network: each request goes to one of the gateways (a load balancer's
 * choice) with the client's session cookie, and may fail, lose its answer or be delayed,
 * as the seeded roll says; while offline, everything fails. Three draws a request,
 * always, so that the sequence of rolls depends on the number of requests only.
 *
 * Each request has a connection of its own (`Connection: close`), so that a request's
 * fate is its own roll's, not that of a connection another client's request broke. (A
 * keep-alive connection kept busy used to hold a gateway's stop until SIGKILL; the
 * gateway now closes it after STOP_GRACE_MS.)
 *
 * `pause` holds every request back and waits for those on the wire: the restore fault
 * takes a backup and puts it back meanwhile, and a write the backup does not hold, the
 * restore takes away, acknowledged or not: no client can be promised that.
 */
export class FaultyNetwork {
  readonly stats: NetStats = { requests: 0, failedBeforeSending: 0, lostResponses: 0, delayed: 0, offline: 0 };
  faults: NetFaults = defaultNetFaults;
  private offlineUntil = 0;
  /** Bumped by every disconnect: a request out across one loses its answer. */
  private drops = 0;
  private gate: { closed: Promise<void>; open: () => void } | null = null;
  private onWire = 0;

  constructor(
    private readonly r: Rng,
    private readonly gateways: readonly string[],
    private readonly cookie: () => string,
    private readonly send: typeof globalThis.fetch = globalThis.fetch,
    private readonly now: () => number = Date.now,
  ) {}

  get offline(): boolean {
    return this.now() < this.offlineUntil;
  }

  offlineFor(ms: number): void {
    this.offlineUntil = this.now() + ms;
    if (ms > 0) this.drops++;
  }

  get paused(): boolean {
    return this.gate !== null;
  }

  async pause(): Promise<void> {
    if (!this.gate) {
      let open = () => undefined as void;
      const closed = new Promise<void>((resolve) => (open = resolve));
      this.gate = { closed, open };
    }
    while (this.onWire > 0) await sleep(10);
  }

  resume(): void {
    this.gate?.open();
    this.gate = null;
  }

  /** The queue's fetch. */
  readonly fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    this.stats.requests++;
    const roll = this.r();
    const delayMs = this.r.int(this.faults.delayMs[0], this.faults.delayMs[1]);
    const base = this.gateways[this.r.int(0, this.gateways.length - 1)]!;
    const { fail, lose, delay } = this.faults;
    await this.whenOpen(init.signal);
    if (roll < fail + delay && roll >= fail) {
      this.stats.delayed++;
      await abortable(sleep(delayMs), init.signal);
      await this.whenOpen(init.signal);
    }
    if (this.offline) {
      this.stats.offline++;
      throw networkError('offline');
    }
    if (roll < fail) {
      this.stats.failedBeforeSending++;
      throw networkError('the connection was reset before the request went out');
    }
    const u = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    headers.set('cookie', this.cookie());
    headers.set('connection', 'close');
    const drops = this.drops;
    // The request goes on when the client stops waiting for it (its timeout, a reload): the
    // server may still apply it, and pause() must wait for that too.
    this.onWire++;
    const out = this.send(`${base}${u.pathname}${u.search}`, { ...init, headers, signal: AbortSignal.timeout(60_000) }).finally(() => this.onWire--);
    let res: Response;
    try {
      res = await abortable(out, init.signal);
    } catch (err) {
      out.then((late) => late.body?.cancel(), () => undefined).catch(() => undefined);
      throw err;
    }
    const lost = roll >= fail + delay && roll < fail + delay + lose;
    if (lost || this.drops !== drops) {
      await res.arrayBuffer().catch(() => undefined);
      this.stats.lostResponses++;
      throw networkError(lost ? 'the connection dropped before the answer arrived' : 'the network went away while the answer was on its way');
    }
    return res;
  };

  /** A GET with the cookie, held back and failed like the rest but never lost on purpose (lists only read). */
  async get(path: string, timeoutMs: number): Promise<Response> {
    const signal = AbortSignal.timeout(timeoutMs);
    await this.whenOpen(signal);
    if (this.offline) throw networkError('offline');
    const headers = { cookie: this.cookie(), connection: 'close' };
    return this.send(`${this.gateways[0]!}${path}`, { headers, signal }).catch(async (err: unknown) => {
      // The first gateway may be the one restarting.
      if (this.gateways.length < 2 || signal.aborted) throw err;
      return this.send(`${this.gateways[1]!}${path}`, { headers, signal });
    });
  }

  private async whenOpen(signal: AbortSignal | null | undefined): Promise<void> {
    while (this.gate) await abortable(this.gate.closed, signal);
  }
}
