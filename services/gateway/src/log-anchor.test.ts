import { expect, test } from 'vitest';
import { streamVerdict, type OutboxAt, type StreamVerdict } from './log-anchor';

const last = (seq: number, fp = 'f') => ({ seq, fp });

test.each<{ name: string; last: { seq: number; fp: string } | null; outbox: OutboxAt; want: StreamVerdict }>([
  { name: 'an empty stream', last: null, outbox: { head: 9, fp: null }, want: 'same' },
  { name: 'an empty stream, an empty outbox', last: null, outbox: { head: 0, fp: null }, want: 'same' },
  { name: 'its end is the outbox head, same change', last: last(9), outbox: { head: 9, fp: 'f' }, want: 'same' },
  { name: 'its end behind the head, same change', last: last(7), outbox: { head: 9, fp: 'f' }, want: 'same' },
  { name: 'its end behind the head, another change (a restore passed by the new history)', last: last(7), outbox: { head: 9, fp: 'g' }, want: 'other' },
  { name: 'no row at its end within the head (pruned, removed, another database)', last: last(7), outbox: { head: 9, fp: null }, want: 'other' },
  { name: 'its end beyond the head (an early append, or a lost history not passed yet)', last: last(12), outbox: { head: 9, fp: null }, want: 'unproven' },
])('$name', ({ last: l, outbox, want }) => {
  expect(streamVerdict(l, outbox)).toBe(want);
});
