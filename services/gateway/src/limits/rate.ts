// A token bucket: up to `burst` actions at once, refilled at `perSecond`. Pure: the
// caller passes the clock, so a table test can walk through time.

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number = perSecond,
    now: number = Date.now(),
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one token if there is one; false means over the rate. */
  take(now: number = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = Math.max(this.at, now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
