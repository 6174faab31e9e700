// What one client may cost (each an environment variable, see env.ts), the heartbeat,
// and the pure decisions on a socket's queue: whether a replay may read on, whether a
// socket is over its bound, whether a stalled socket is closed.

export interface GatewayLimits {
  /** Bytes that may wait for one socket; past it, its subscriptions resync (slow-client). */
  queueBytes: number;
  maxSocketsPerUser: number;
  maxSubscriptions: number;
  subscribesPerSecond: number;
  /** Replay pages: at most this many rows and (after the first row) bytes. */
  pageSize: number;
  pageBytes: number;
  maxConcurrentReplays: number;
  /** Replays of one user (of one connection, for a service token) reading at once; the rest wait. */
  maxReplaysPerUser: number;
  /**
   * The stalled-socket grace: how long a replay waits for its socket to make room before
   * giving up on it, and how long a socket over its bound has to read half of it before it
   * is closed.
   */
  slowClientMs: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  queueBytes: 8 * 1024 * 1024,
  maxSocketsPerUser: 20,
  maxSubscriptions: 100,
  subscribesPerSecond: 20,
  pageSize: 1000,
  pageBytes: 1024 * 1024,
  maxConcurrentReplays: 16,
  // A page that opens many lists resumes them a few at a time; one user sending
  // subscribes in bulk takes no more than this of the replays' turns and pool.
  maxReplaysPerUser: 4,
  // Under the heartbeat's 9 s: a client that stops reading also stops answering pings, and
  // the bound, not the heartbeat, must be what ends it (a resync, not a dropped socket).
  slowClientMs: 5_000,
};

/** A request still running when the gateway stops gets this long to answer. */
export const STOP_GRACE_MS = 5_000;

/**
 * What the README promises: a link that dies without a close is noticed by both ends
 * within this. The server misses a pong after at most pingInterval + pingTimeout, and the
 * client, which learns both from the handshake, misses a ping after the same.
 */
export const DEAD_LINK_NOTICE_MS = 10_000;

export interface Heartbeat {
  pingInterval: number;
  pingTimeout: number;
}

/** Socket.IO's own (25 s + 20 s) would show a dead link as Live for some 45 s. */
export const DEFAULT_HEARTBEAT: Heartbeat = { pingInterval: 4000, pingTimeout: 5000 };

/**
 * Whether a replay may read its next page: only while what waits for the socket is under
 * half its bound, so that a page being written and the next one read fit.
 */
export const hasRoom = (queued: number, limits: Pick<GatewayLimits, 'queueBytes'>): boolean => queued <= limits.queueBytes / 2;

/** A live batch for a socket past its bound is not written: the socket's subscriptions resync instead. */
export const overBound = (queued: number, limits: Pick<GatewayLimits, 'queueBytes'>): boolean => queued > limits.queueBytes;

/**
 * What a stalled socket gets once its grace is over: closed when it still has not read
 * half of what waits for it (its buffers go with it), kept otherwise.
 */
export function stalledVerdict(queued: number, connected: boolean, limits: Pick<GatewayLimits, 'queueBytes'>): 'close' | 'keep' {
  return connected && !hasRoom(queued, limits) ? 'close' : 'keep';
}

/**
 * Live changes held while a subscription replays: past the bound, a replay that far
 * behind is cheaper to restart from a fresh list than to buffer without end.
 */
export const heldOver = (held: number, limits: Pick<GatewayLimits, 'queueBytes'>): boolean => held > limits.queueBytes;
