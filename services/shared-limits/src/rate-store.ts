// A store for @fastify/rate-limit on the shared Redis: each limiter's counts are kept under
// `<prefix>:limit:<key>` by one script (count and window in one step), so every API
// process spends from one budget. While Redis does not answer, the count of this process
// decides; it is kept all along, so that a fall-back starts from what this process has
// counted in the window rather than from nothing.
import { counterReply, limitKey } from './keys';
import type { SharedRedis } from './redis';
import { COUNT_SCRIPT, COUNT_SHA, pairReply } from './scripts';
import { WindowCounts } from './window';

type Answer = (err: Error | null, res?: { current: number; ttl: number }) => void;

/** The shape @fastify/rate-limit calls (its FastifyRateLimitStore, with the `read` its `{ increment: false }` needs). */
export interface RateStore {
  incr(key: string, cb: Answer, timeWindow: number, max: number): void;
  read(key: string, cb: Answer, timeWindow: number, max: number): void;
  child(routeOptions: object): RateStore;
}

export type RateStoreClass = new (params: object) => RateStore;

/** The `store` option of @fastify/rate-limit, counting on `redis`. */
export function sharedRateStore(redis: SharedRedis, now: () => number = Date.now): RateStoreClass {
  class SharedRateStore implements RateStore {
    private readonly local = new WindowCounts();

    incr(key: string, cb: Answer, timeWindow: number): void {
      const mine = this.local.incr(key, now(), timeWindow);
      redis
        .script(COUNT_SHA, COUNT_SCRIPT, [limitKey(redis.prefix, key)], [String(timeWindow)])
        .then((reply) => cb(null, reply === null ? mine : counterReply(...pairReply(reply, 'count'))))
        // A reply out of step with the script is a bug, not an outage: it is the request's error.
        .catch((err: Error) => cb(err));
    }

    read(key: string, cb: Answer): void {
      const mine = this.local.read(key, now());
      const k = limitKey(redis.prefix, key);
      redis
        .run((c) => c.multi().get(k).pTTL(k).exec())
        .then((reply) => {
          if (reply === null) return cb(null, mine);
          const [current, pttl] = reply as unknown as [string | null, number];
          cb(null, current === null ? { current: 0, ttl: 0 } : counterReply(Number(current), pttl));
        })
        .catch((err: Error) => cb(err));
    }

    child(): RateStore {
      return new SharedRateStore();
    }
  }
  return SharedRateStore;
}
