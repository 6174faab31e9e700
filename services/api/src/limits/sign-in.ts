// The sign-in budgets: at most `max` failed sign-ins a window per address, then 429; per
// email, `max` failures a window, then the account is slowed (one attempt every
// `slow.everyMs` from browsers that never signed in to it), never locked (keys.ts says
// why). Only failures are counted, so a user who signs in often never runs out; attempts
// still in flight count as failures until they are known, so a parallel burst gets no more
// guesses than a sequential one.
// With REDIS_URL the failures are counted across API processes (the rate limiter's shared
// store) and so are the attempts in flight (leases, announced before the counts are read:
// of two attempts on two processes at once, the later read sees the other). The slowed
// accounts' turns stay per process: an account past its budget takes one attempt every
// `slow.everyMs` on each process, a handful of guesses a minute more, never a burst.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CreateRateLimitOptions } from '@fastify/rate-limit';
import { noteLimited } from '@realtime/runtime';
import { HttpError } from '../errors';
import { accountTurn, signInKeys, signInVerdict, type Budget, type SlowDown } from './keys';

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** One sign-in being checked; `failed` before `end` when the password was wrong. */
export interface Attempt {
  failed(): Promise<void>;
  end(): void;
}

/**
 * The sign-ins in flight on every API process (REDIS_URL): `held` counts this one too;
 * null when Redis does not answer (this process's own count decides).
 */
export interface SharedAttempts {
  take(key: string, id: string, max: null): Promise<{ held: number } | null>;
  drop(key: string, id: string): Promise<void>;
}

/** Slowed accounts' next turns are forgotten past this many (the oldest first): memory stays bounded under a spray of emails. */
const MAX_SLOWED_ACCOUNTS = 100_000;

export const SLOW_DOWN_DEFAULTS: SlowDown = { everyMs: 5000, maxWaitMs: 15_000 };

export class SignInLimit {
  private readonly inFlight = new Map<string, number>();
  private readonly keys = new WeakMap<FastifyRequest, { email: string; ip: string }>();
  private limiters: { email: Limiter; ip: Limiter } | null = null;
  /** Each slowed account's next free turn (ms since the epoch). */
  private readonly turns = new Map<string, number>();

  constructor(
    private readonly app: FastifyInstance,
    readonly max = 10,
    readonly windowMs = 60_000,
    readonly slow: SlowDown = SLOW_DOWN_DEFAULTS,
    private readonly clock: { now(): number; sleep(ms: number): Promise<void> } = { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    private readonly shared?: SharedAttempts,
  ) {}

  /**
   * Refuses (429, Retry-After) when the address's budget is spent, or when a slowed
   * account's queue is too long; waits for the account's turn when it is slowed and the
   * request does not come from a trusted device. The caller must `end()` what it gets.
   */
  async begin(request: FastifyRequest, email: string, trustedDevice = false): Promise<Attempt> {
    const keys = signInKeys(request.ip, email);
    this.keys.set(request, keys);
    const limiters = this.limitersOf();
    const id = randomUUID();
    const others = await this.announce(keys, id);
    const dropShared = () => {
      if (!this.shared) return;
      void this.shared.drop(keys.email, id);
      void this.shared.drop(keys.ip, id);
    };
    let waitMs: number;
    try {
      waitMs = await this.judge(request, keys, limiters, others, trustedDevice);
    } catch (err) {
      dropShared();
      throw err;
    }
    if (waitMs > 0) await this.clock.sleep(waitMs);
    let ended = false;
    let failed = false;
    const release = () => {
      this.add(keys.email, -1);
      this.add(keys.ip, -1);
      dropShared();
    };
    return {
      failed: async () => {
        failed = true;
        await Promise.all([limiters.email(request), limiters.ip(request)]);
      },
      end: () => {
        if (ended) return;
        ended = true;
        // A failure stays in flight one turn of the event loop past its count: a check
        // that read the (in-memory, synchronous) store just before the count finishes its
        // verdict within the same turn, and must still see the failure somewhere.
        if (failed) setImmediate(release);
        else release();
      },
    };
  }

  /**
   * Announces the attempt on every process (before the counts are read) and answers how
   * many other attempts of each key are in flight there; null where Redis did not answer.
   */
  private async announce(keys: { email: string; ip: string }, id: string): Promise<{ email: number | null; ip: number | null }> {
    if (!this.shared) return { email: null, ip: null };
    const [email, ip] = await Promise.all([this.shared.take(keys.email, id, null), this.shared.take(keys.ip, id, null)]);
    return { email: email ? email.held - 1 : null, ip: ip ? ip.held - 1 : null };
  }

  /** The verdict on one attempt: throws the 429, or answers how long to wait for the account's turn. */
  private async judge(request: FastifyRequest, keys: { email: string; ip: string }, limiters: { email: Limiter; ip: Limiter }, others: { email: number | null; ip: number | null }, trustedDevice: boolean): Promise<number> {
    const [byEmail, byIp] = await Promise.all([limiters.email(request, { increment: false }), limiters.ip(request, { increment: false })]);
    const verdict = signInVerdict({ email: this.budget(byEmail, keys.email, others.email), ip: this.budget(byIp, keys.ip, others.ip) }, this.max, trustedDevice);
    if (verdict.action === 'refuse') {
      noteLimited(request.log, verdict.limit, { ip: keys.ip.slice('ip:'.length) });
      throw new HttpError(429, 'TOO_MANY_REQUESTS', `too many failed sign-ins from this address: try again in ${verdict.retryAfterSeconds} s`, { 'retry-after': String(verdict.retryAfterSeconds) });
    }
    let waitMs = 0;
    if (verdict.action === 'slow') {
      const now = this.clock.now();
      const turn = accountTurn(this.turns.get(keys.email), now, this.slow);
      // The email is named in the log so an operator can tell its owner; the password never is.
      noteLimited(request.log, verdict.limit, { email: keys.email.slice('email:'.length) });
      if (!('waitMs' in turn)) {
        throw new HttpError(
          429,
          'TOO_MANY_REQUESTS',
          `too many failed sign-ins for this email: it takes one attempt every ${Math.ceil(this.slow.everyMs / 1000)} s for now (a browser that signed in to it before is not slowed); try again in ${turn.retryAfterSeconds} s`,
          { 'retry-after': String(turn.retryAfterSeconds) },
        );
      }
      this.turns.delete(keys.email);
      this.turns.set(keys.email, turn.nextFreeAt);
      if (this.turns.size > MAX_SLOWED_ACCOUNTS) this.turns.delete(this.turns.keys().next().value!);
      waitMs = turn.waitMs;
    }
    // In flight from here, in the same turn as the verdict: an attempt judged next sees it.
    this.add(keys.email, 1);
    this.add(keys.ip, 1);
    return waitMs;
  }

  private budget(r: Awaited<ReturnType<Limiter>>, key: string, othersShared: number | null): Budget {
    // This process's own count is in the shared one, unless Redis missed some of it.
    const inFlight = Math.max(this.inFlight.get(key) ?? 0, othersShared ?? 0);
    return r.isAllowed ? { used: 0, inFlight, ttlMs: 0 } : { used: r.max - r.remaining, inFlight, ttlMs: r.ttl || this.windowMs };
  }

  private add(key: string, n: number): void {
    const v = (this.inFlight.get(key) ?? 0) + n;
    if (v <= 0) this.inFlight.delete(key);
    else this.inFlight.set(key, v);
  }

  /** Made on first use: the rate-limit plugin decorates the app only once it has loaded. */
  private limitersOf(): { email: Limiter; ip: Limiter } {
    if (this.limiters) return this.limiters;
    if (!this.app.hasDecorator('createRateLimit')) throw new Error('@fastify/rate-limit is not registered: registerAuth registers it before its routes');
    const make = (kind: 'email' | 'ip') =>
      this.app.createRateLimit({
        max: this.max,
        timeWindow: this.windowMs,
        keyGenerator: (req) => this.keys.get(req)![kind],
        // Enough keys that a spray of emails cannot push an attacked one out of memory in a window.
        cache: 100_000,
      } as CreateRateLimitOptions);
    this.limiters = { email: make('email'), ip: make('ip') };
    return this.limiters;
  }
}
