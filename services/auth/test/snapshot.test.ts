import { describe, expect, test } from 'vitest';
import { parseSnapshot, visibleIn } from '../src/snapshot';

describe('parseSnapshot', () => {
  test('reads xmin, xmax and the in-progress list', () => {
    expect(parseSnapshot('10:20:12,15')).toEqual({ xmin: 10n, xmax: 20n, xip: new Set([12n, 15n]) });
    expect(parseSnapshot('7:7:')).toEqual({ xmin: 7n, xmax: 7n, xip: new Set() });
  });
  test.each(['', '1:2', 'a:b:', '5:3:', '10:20:25', '10:20:9'])('refuses "%s"', (text) => {
    expect(() => parseSnapshot(text)).toThrow(/not a pg_snapshot/);
  });
});

describe('visibleIn', () => {
  const s = parseSnapshot('10:20:12,15');
  test.each([
    [9n, true, 'before xmin: committed before the snapshot'],
    [10n, true, 'xmin itself, not in progress'],
    [12n, false, 'in progress at the snapshot'],
    [13n, true, 'between, committed'],
    [15n, false, 'in progress'],
    [19n, true, 'just below xmax, committed'],
    [20n, false, 'xmax: started after'],
    [99n, false, 'far after'],
  ])('txid %d → %s (%s)', (txid, visible) => {
    expect(visibleIn(s, txid)).toBe(visible);
  });
});
