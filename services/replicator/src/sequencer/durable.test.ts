import { describe, expect, test } from 'vitest';
import { DurableAcks } from './durable';

describe('DurableAcks', () => {
  test('nothing is acknowledged before a position read after the stamp says it is flushed', () => {
    const d = new DurableAcks();
    d.stamped(100n);
    // The stamp's commit record is below any insert position read after it returned.
    const asked = d.asking();
    expect(d.settle(asked, 500n, 499n)).toBeNull();
    expect(d.pending).toBe(1);
    // The bound stays what the first answer said: a later, higher insert does not move it.
    expect(d.settle(d.asking(), 900n, 500n)).toBe(100n);
    expect(d.pending).toBe(0);
  });

  test.each([
    // [stamps as [ackTo, returned before the query?], insert, flush, expected ack, left waiting]
    { name: 'all flushed', stamps: [[10n, true], [20n, true]], insert: 50n, flush: 50n, ack: 20n, left: 0 },
    { name: 'none flushed', stamps: [[10n, true], [20n, true]], insert: 50n, flush: 49n, ack: null, left: 2 },
    { name: 'a stamp after the query is not bounded by it', stamps: [[10n, true], [20n, false]], insert: 50n, flush: 60n, ack: 10n, left: 1 },
    { name: 'empty', stamps: [], insert: 50n, flush: 60n, ack: null, left: 0 },
  ] as const)('$name', ({ stamps, insert, flush, ack, left }) => {
    const d = new DurableAcks();
    let asked = 0;
    for (const [to, before] of stamps) {
      if (!before && asked === 0) asked = d.asking();
      d.stamped(to);
    }
    if (asked === 0) asked = d.asking();
    expect(d.settle(asked, insert, flush)).toBe(ack);
    expect(d.pending).toBe(left);
  });

  test('settles in order: a later stamp never acknowledges past an earlier one still waiting', () => {
    const d = new DurableAcks();
    d.stamped(10n);
    expect(d.settle(d.asking(), 100n, 0n)).toBeNull(); // first bounded at 100
    d.stamped(20n);
    expect(d.settle(d.asking(), 200n, 150n)).toBe(10n); // second bounded at 200, not flushed
    expect(d.pending).toBe(1);
    expect(d.settle(d.asking(), 300n, 200n)).toBe(20n);
  });
});
