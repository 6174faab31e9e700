import { expect, test } from 'vitest';
import { followOn } from './feed';

const seqs = (...xs: number[]) => xs.map((seq) => ({ seq }));

test.each([
  { name: 'follows on', batch: [6, 7, 8], head: 5, out: [6, 7, 8] },
  { name: 'overlaps what went already', batch: [4, 5, 6, 7], head: 5, out: [6, 7] },
  { name: 'all went already', batch: [3, 4, 5], head: 5, out: [] },
  { name: 'a gap before it', batch: [7, 8], head: 5, out: [] },
  { name: 'a gap inside it', batch: [6, 7, 9, 10], head: 5, out: [6, 7] },
  { name: 'overlap then a gap', batch: [5, 6, 8], head: 5, out: [6] },
  { name: 'empty', batch: [], head: 5, out: [] },
])('$name', ({ batch, head, out }) => {
  expect(followOn(seqs(...batch), head).map((c) => c.seq)).toEqual(out);
});
