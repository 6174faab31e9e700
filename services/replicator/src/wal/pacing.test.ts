import { describe, expect, test } from 'vitest';
import { afterMessage, earlyMismatch, flushRoute, keepaliveAck, nextVisibilityWait } from './pacing';

describe('afterMessage: when the batch in hand is stamped', () => {
  test.each([
    ['a full batch is stamped now', { rows: 100, batchSize: 100, empty: false, lingering: false, lingerMs: 0 }, 'flush'],
    ['past full, even while lingering', { rows: 150, batchSize: 100, empty: false, lingering: true, lingerMs: 5 }, 'flush'],
    ['rows in hand, no linger: after this turn of messages', { rows: 3, batchSize: 100, empty: false, lingering: false, lingerMs: 0 }, 'linger-turn'],
    ['rows in hand, a linger configured: a timer', { rows: 3, batchSize: 100, empty: false, lingering: false, lingerMs: 5 }, 'linger-timer'],
    ['a linger armed already: nothing more', { rows: 3, batchSize: 100, empty: false, lingering: true, lingerMs: 5 }, 'none'],
    ['nothing in hand (a transaction still streaming)', { rows: 0, batchSize: 100, empty: true, lingering: false, lingerMs: 0 }, 'none'],
  ] as const)('%s', (_name, state, expected) => {
    expect(afterMessage(state)).toBe(expected);
  });
});

describe('flushRoute: numbered early, or by the stamp statement', () => {
  test.each([
    ['eligible, early delivery on, nothing numbered by the database running', { early: true, dbStamping: false, eligible: true }, 'early'],
    ['a database-numbered batch still running holds later ones back', { early: true, dbStamping: true, eligible: true }, 'database'],
    ['not eligible (committed before the stream could number it)', { early: true, dbStamping: false, eligible: false }, 'database'],
    ['early delivery off', { early: false, dbStamping: false, eligible: true }, 'database'],
  ] as const)('%s', (_name, state, expected) => {
    expect(flushRoute(state)).toBe(expected);
  });
});

describe('keepaliveAck: what a keepalive acknowledges', () => {
  const idle = { inTransaction: false, bufferEmpty: true, stamps: 0, durablePending: 0, libraryIdle: true, shouldRespond: false };
  test.each([
    ['nothing in hand anywhere: its own position', idle, 'keepalive'],
    ['nothing in hand, asked to answer: still its own position', { ...idle, shouldRespond: true }, 'keepalive'],
    ['a transaction half read, asked: the last acknowledged', { ...idle, inTransaction: true, shouldRespond: true }, 'acked'],
    ['a batch in hand, not asked: nothing', { ...idle, bufferEmpty: false }, 'none'],
    ['a stamp running, asked', { ...idle, stamps: 1, shouldRespond: true }, 'acked'],
    ['a stamp waiting for the disk, asked', { ...idle, durablePending: 2, shouldRespond: true }, 'acked'],
    ['messages the library has not handed over, asked', { ...idle, libraryIdle: false, shouldRespond: true }, 'acked'],
    ['messages the library has not handed over, not asked', { ...idle, libraryIdle: false }, 'none'],
  ] as const)('%s', (_name, state, expected) => {
    expect(keepaliveAck(state)).toBe(expected);
  });
});

describe('retries and checks of a stamp', () => {
  test.each([
    [1, 2],
    [32, 64],
    [64, 100],
    [100, 100],
  ])('a wait of %i ms is followed by one of %i ms', (wait, next) => {
    expect(nextVisibilityWait(wait)).toBe(next);
  });
  test.each([
    ['early, every row stamped', true, 5, 5, false],
    ['early, some stamped before: their changes went out under other seqs', true, 5, 3, true],
    ['numbered by the database: whatever it stamped', false, 5, 3, false],
  ] as const)('%s', (_name, early, rows, stamped, expected) => {
    expect(earlyMismatch(early, rows, stamped)).toBe(expected);
  });
});
