import { describe, expect, test } from 'vitest';
import { DEFAULT_HEARTBEAT, DEAD_LINK_NOTICE_MS, DEFAULT_LIMITS, hasRoom, heldOver, overBound, stalledVerdict } from './limits';

const limits = { queueBytes: 1000 };

describe('a socket against its byte bound (SOCKET_QUEUE_BYTES)', () => {
  test.each([
    ['empty', 0, true, false, false],
    ['at half: a replay still reads', 500, true, false, false],
    ['past half: a replay waits for it to drain', 501, false, false, false],
    ['at the bound: live batches still go', 1000, false, false, false],
    ['past the bound: live batches stop, its subscriptions resync', 1001, false, true, true],
  ])('%s (%i bytes)', (_name, queued, room, over, held) => {
    expect(hasRoom(queued, limits)).toBe(room);
    expect(overBound(queued, limits)).toBe(over);
    expect(heldOver(queued, limits)).toBe(held);
  });
});

describe('what a stalled socket gets after its grace', () => {
  test.each([
    ['still holding more than half: closed', 600, true, 'close'],
    ['read down to half: kept', 500, true, 'keep'],
    ['drained: kept', 0, true, 'keep'],
    ['gone already: nothing to close', 600, false, 'keep'],
  ] as const)('%s', (_name, queued, connected, verdict) => {
    expect(stalledVerdict(queued, connected, limits)).toBe(verdict);
  });
});

describe('defaults', () => {
  test('the stalled-socket grace is under the heartbeat, so that the bound, not the heartbeat, ends a client that stops reading', () => {
    expect(DEFAULT_LIMITS.slowClientMs).toBe(5_000);
    expect(DEFAULT_LIMITS.slowClientMs).toBeLessThan(DEFAULT_HEARTBEAT.pingInterval + DEFAULT_HEARTBEAT.pingTimeout);
    expect(DEFAULT_HEARTBEAT.pingInterval + DEFAULT_HEARTBEAT.pingTimeout).toBeLessThanOrEqual(DEAD_LINK_NOTICE_MS);
  });
});
