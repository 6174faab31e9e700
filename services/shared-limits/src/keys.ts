// Where the shared limits live in Redis and how long a lease lasts: pure naming and
// arithmetic, apart from the IO so that a table can pin them down.

/** `<prefix>:limit:<key>`: one rate-limit counter (a user's writes, an address's or an email's sign-in failures). */
export function limitKey(prefix: string, key: string): string {
  return `${prefix}:limit:${key}`;
}

/** `<prefix>:<set>:<owner>`: one lease set (`sockets:<userId>`, `attempts:<key>`). */
export function leaseSetKey(prefix: string, set: string, owner: string): string {
  return `${prefix}:${set}:${owner}`;
}

/**
 * A lease's member: the process that holds it and its own id there. The process id keeps
 * two gateways' socket ids (each counts from its own start) from naming one member.
 */
export function leaseMember(processId: string, id: string): string {
  return `${processId}:${id}`;
}

/** When a lease taken or renewed at `now` lapses. */
export function leaseExpiry(now: number, leaseMs: number): number {
  return now + leaseMs;
}

/**
 * How often a process renews its leases: three times a lease, so that one renewal lost
 * (a slow Redis, a busy event loop) still leaves a live process's leases standing, and a
 * dead one's lapse within one lease.
 */
export function renewEveryMs(leaseMs: number): number {
  return Math.max(100, Math.floor(leaseMs / 3));
}

/**
 * A counter's verdict in the shape @fastify/rate-limit reads: how many in the window and
 * how long until it ends. Redis answers PTTL -1 (no expiry) or -2 (no key) as negatives:
 * no window is running then.
 */
export function counterReply(current: number, pttl: number): { current: number; ttl: number } {
  return { current, ttl: pttl > 0 ? pttl : 0 };
}
