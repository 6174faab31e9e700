// When the WAL stream fails, what next: retry it, or fall back to NOTIFY mode. Pure, so
// that every failure Postgres can report is decided by a table, not by a live server.

export type Mode = 'wal' | 'notify' | 'down';

export type WalFailure =
  /** wal_level is not logical, or the role may not replicate: WAL cannot work now. */
  | 'unavailable'
  /** The slot was dropped or invalidated (max_slot_wal_keep_size): its position is gone. */
  | 'slot-lost'
  /** Another connection (a dead leader's walsender) still holds the slot. */
  | 'slot-busy'
  /** Anything else: a lost connection, a decoding error, a failed stamp. */
  | 'stream';

interface PgLikeError {
  message?: string;
  code?: string;
}

export function classifyWalError(err: unknown): WalFailure {
  const e = (err ?? {}) as PgLikeError;
  const msg = String(e.message ?? err);
  if (/wal_level >= logical|wal_level is insufficient|logical decoding requires/i.test(msg)) return 'unavailable';
  if (e.code === '42501' || /must be superuser or replication role|permission denied to (start|use) (WAL sender|replication)|REPLICATION attribute/i.test(msg)) return 'unavailable';
  if (/can no longer get changes from replication slot|has been invalidated|replication slot .* does not exist/i.test(msg)) return 'slot-lost';
  if (e.code === '55006' || /is active for PID/i.test(msg)) return 'slot-busy';
  return 'stream';
}

export interface WalDecision {
  action: 'retry-wal' | 'fallback';
  failures: number;
  delayMs: number;
}

/** After a WAL failure: consecutive stream failures up to `maxFailures` are retried after `reconnectMs`. */
export function afterWalFailure(kind: WalFailure, failures: number, opts: { maxFailures: number; reconnectMs: number }): WalDecision {
  switch (kind) {
    case 'unavailable':
    case 'slot-lost':
      return { action: 'fallback', failures: 0, delayMs: 0 };
    case 'slot-busy':
      return { action: 'retry-wal', failures, delayMs: opts.reconnectMs };
    case 'stream': {
      const next = failures + 1;
      return next >= opts.maxFailures ? { action: 'fallback', failures: 0, delayMs: 0 } : { action: 'retry-wal', failures: next, delayMs: opts.reconnectMs };
    }
  }
}
