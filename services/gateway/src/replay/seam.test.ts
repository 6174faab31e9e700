import { describe, expect, test } from 'vitest';
import { Seam } from './seam';

const c = (...seqs: number[]) => seqs.map((seq) => ({ seq }));
const seqs = (xs: { seq: number }[]) => xs.map((x) => x.seq);

describe('Seam', () => {
  test.each([
    {
      name: 'live changes during replay wait; replay overlap is dropped',
      since: 0,
      steps: [['live', c(4, 5)], ['replay', c(1, 2, 3, 4)], ['goLive', 4], ['live', c(6)]],
      sent: [1, 2, 3, 4, 5, 6],
    },
    {
      name: 'replay covered beyond the buffer: nothing from the buffer is sent',
      since: 10,
      steps: [['live', c(11)], ['replay', c(11, 12)], ['goLive', 12], ['live', c(12, 13)]],
      sent: [11, 12, 13],
    },
    {
      name: 'filtered-out seqs still count as covered',
      since: 0,
      steps: [['live', c(7, 9)], ['replay', c(2)], ['goLive', 8], ['live', c(10)]],
      sent: [2, 9, 10],
    },
    {
      name: 'a duplicate delivered live is dropped',
      since: 0,
      steps: [['goLive', 0], ['live', c(1, 2, 2, 1, 3)]],
      sent: [1, 2, 3],
    },
    {
      name: 'a buffer out of order comes out in order',
      since: 0,
      steps: [['live', c(5, 4)], ['goLive', 3]],
      sent: [4, 5],
    },
    {
      name: 'since above everything replayed sends nothing old',
      since: 100,
      steps: [['replay', c(99, 100)], ['goLive', 100], ['live', c(101)]],
      sent: [101],
    },
  ])('$name', ({ since, steps, sent }) => {
    const seam = new Seam<{ seq: number }>(since);
    const out: number[] = [];
    for (const [kind, arg] of steps as [string, unknown][]) {
      if (kind === 'live') for (const x of arg as { seq: number }[]) out.push(...seqs(seam.live(x)));
      if (kind === 'replay') out.push(...seqs(seam.replayed(arg as { seq: number }[])));
      if (kind === 'goLive') out.push(...seqs(seam.goLive(arg as number)));
    }
    expect(out).toEqual(sent);
    expect(seam.isLive).toBe(true);
    expect(seam.buffered).toBe(0);
  });
});
