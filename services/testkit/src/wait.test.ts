import { describe, expect, test } from 'vitest';
import { waitFailure, waitFor, waitForLine } from './wait';

/** A clock that moves only when the wait sleeps: no real time passes in these tests. */
function fakeClock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), elapsed: () => t };
}

describe('waitFor', () => {
  test('returns the first truthy answer, probing every everyMs', async () => {
    const clock = fakeClock();
    let n = 0;
    const v = await waitFor(() => (++n >= 4 ? { n } : null), { what: 'the fourth probe', everyMs: 25, ...clock });
    expect(v).toEqual({ n: 4 });
    expect(clock.elapsed()).toBe(75);
  });

  test('a probe that throws counts as not yet', async () => {
    const clock = fakeClock();
    let n = 0;
    const v = await waitFor(
      async () => {
        if (++n < 3) throw new Error('ECONNREFUSED');
        return 'up';
      },
      { what: 'the server', ...clock },
    );
    expect(v).toBe('up');
  });

  test('gives up at the deadline naming what it waited for and the last error', async () => {
    const clock = fakeClock();
    const err = await waitFor(
      () => {
        throw new Error('connection refused');
      },
      { what: 'the replicator to lead', timeoutMs: 2000, everyMs: 100, ...clock },
    ).catch((e: Error) => e);
    expect((err as Error).message).toBe('timed out after 2 s waiting for the replicator to lead (last error: connection refused)');
    expect(clock.elapsed()).toBe(2000);
  });

  test('the positional form', async () => {
    let n = 0;
    await expect(waitFor('three probes', () => ++n >= 3, 10_000, 1)).resolves.toBe(true);
  });
});

test.each([
  { what: 'a row', ms: 500, last: null, want: 'timed out after 500 ms waiting for a row' },
  { what: 'a row', ms: 30_000, last: undefined, want: 'timed out after 30 s waiting for a row' },
  { what: 'a row', ms: 1500, last: new Error('no'), want: 'timed out after 1.5 s waiting for a row (last error: no)' },
  { what: 'a row', ms: 1000, last: 'text', want: 'timed out after 1 s waiting for a row (last error: text)' },
])('waitFailure($what, $ms, $last)', ({ what, ms, last, want }) => {
  expect(waitFailure(what, ms, last)).toBe(want);
});

test('waitForLine finds the line once it is written', async () => {
  const clock = fakeClock();
  let out = 'starting\n';
  let probes = 0;
  const line = await waitForLine(
    () => {
      if (++probes === 3) out += '{"msg":"listening","port":4000}\n';
      return out;
    },
    /listening/,
    { what: 'the listening line', ...clock },
  );
  expect(JSON.parse(line)).toMatchObject({ port: 4000 });
});
