// The WAL stream's decisions, pure: when the batch in hand is stamped, whether it goes
// out numbered early or waits for the database's numbering, what a keepalive
// acknowledges, and how long a stamp retries rows not yet visible.

/** After a message: stamp now (the batch is full), arm the linger (once), or nothing. */
export function afterMessage(s: { rows: number; batchSize: number; empty: boolean; lingering: boolean; lingerMs: number }): 'flush' | 'linger-turn' | 'linger-timer' | 'none' {
  if (s.rows >= s.batchSize) return 'flush';
  if (s.empty || s.lingering) return 'none';
  // setTimeout(0) is a millisecond in Node; setImmediate stamps after this turn's messages.
  return s.lingerMs === 0 ? 'linger-turn' : 'linger-timer';
}

/**
 * How the batch in hand goes out: numbered early (out now, stamped behind the stamps
 * queued), or numbered by the stamp statement, after a database-numbered batch still
 * running (which holds later ones back so that publication stays in seq order).
 */
export function flushRoute(s: { early: boolean; dbStamping: boolean; eligible: boolean }): 'early' | 'database' {
  return s.early && !s.dbStamping && s.eligible ? 'early' : 'database';
}

/**
 * What a keepalive acknowledges: its own position when nothing is in hand anywhere (no
 * transaction half read, no batch, no stamp running or waiting for the disk, nothing
 * queued in the library), the last acknowledged one when the server asks for an answer,
 * else nothing.
 */
export function keepaliveAck(s: { inTransaction: boolean; bufferEmpty: boolean; stamps: number; durablePending: number; libraryIdle: boolean; shouldRespond: boolean }): 'keepalive' | 'acked' | 'none' {
  const idle = !s.inTransaction && s.bufferEmpty && s.stamps === 0 && s.durablePending === 0 && s.libraryIdle;
  if (idle) return 'keepalive';
  return s.shouldRespond ? 'acked' : 'none';
}

/** The next wait (ms) of a stamp retrying rows not visible yet: doubling, at most 100 ms. */
export const nextVisibilityWait = (wait: number): number => Math.min(wait * 2, 100);

/** Rows numbered early must all be stamped by the statement; fewer means they went out under other seqs. */
export const earlyMismatch = (early: boolean, rows: number, stamped: number): boolean => early && stamped !== rows;
