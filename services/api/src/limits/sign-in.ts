// The sign-in budgets: at most `max` failed sign-ins a window per email and, separately,
// per address (keys.ts says why both). Only failures are counted, so a user who signs in
// often never runs out; attempts still in flight count as failures until they are known,
// so a parallel burst gets no more guesses than a sequential one.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CreateRateLimitOptions } from '@fastify/rate-limit';
import { noteLimited } from '@realtime/replicator';
import { HttpError } from '../errors';
import { signInKeys, signInVerdict, type Budget } from './keys';

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** One sign-in being checked; `failed` before `end` when the password was wrong. */
export interface Attempt {
  failed(): Promise<void>;
  end(): void;
}

export class SignInLimit {
  private readonly inFlight = new Map<string, number>();
  private readonly keys = new WeakMap<FastifyRequest, { email: string; ip: string }>();
  private limiters: { email: Limiter; ip: Limiter } | null = null;

  constructor(
    private readonly app: FastifyInstance,
    readonly max = 10,
    readonly windowMs = 60_000,
  ) {}

  /** Refuses (429, Retry-After) when either budget is spent; the caller must `end()` what it gets. */
  async begin(request: FastifyRequest, email: string): Promise<Attempt> {
    const keys = signInKeys(request.ip, email);
    this.keys.set(request, keys);
    const limiters = this.limitersOf();
    const [byEmail, byIp] = await Promise.all([limiters.email(request, { increment: false }), limiters.ip(request, { increment: false })]);
    const verdict = signInVerdict({ email: this.budget(byEmail, keys.email), ip: this.budget(byIp, keys.ip) }, this.max);
    if (verdict) {
      // The email is named in the log so an operator can tell its owner; the password never is.
      noteLimited(request.log, verdict.limit, verdict.limit === 'sign_in_email' ? { email: keys.email.slice('email:'.length) } : { ip: keys.ip.slice('ip:'.length) });
      const whose = verdict.limit === 'sign_in_email' ? 'for this email' : 'from this address';
      throw new HttpError(429, 'TOO_MANY_REQUESTS', `too many failed sign-ins ${whose}: try again in ${verdict.retryAfterSeconds} s`, { 'retry-after': String(verdict.retryAfterSeconds) });
    }
    this.add(keys.email, 1);
    this.add(keys.ip, 1);
    let ended = false;
    let failed = false;
    const release = () => {
      this.add(keys.email, -1);
      this.add(keys.ip, -1);
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

  private budget(r: Awaited<ReturnType<Limiter>>, key: string): Budget {
    const inFlight = this.inFlight.get(key) ?? 0;
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
