import { describe, expect, test } from 'vitest';
import { countByKind, planFaults, planSubscribers, serverFaults } from './plan';
import { rng } from './rng';

describe('planFaults', () => {
  test.each([
    { seconds: 60, seed: 1 },
    { seconds: 60, seed: 99 },
    { seconds: 180, seed: 7 },
    { seconds: 180, seed: 123456 },
  ])('$seconds s, seed $seed: every server fault, Postgres once, all in the first four fifths, in time order', ({ seconds, seed }) => {
    const plan = planFaults(rng(seed), seconds * 1000);
    const counts = countByKind([...plan.server, ...plan.client]);
    for (const k of serverFaults) expect(counts[k], k).toBeGreaterThanOrEqual(1);
    expect(counts['postgres-restart']).toBe(1);
    const others = serverFaults.filter((k) => k !== 'postgres-restart').map((k) => counts[k]);
    expect(Math.max(...others) - Math.min(...others)).toBeLessThanOrEqual(1);
    expect(counts['client-disconnect']).toBeGreaterThan(0);
    for (const lane of [plan.server, plan.client]) {
      const times = lane.map((f) => f.at);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(Math.max(...times)).toBeLessThan(seconds * 1000 * 0.8);
    }
  });

  test('the same seed gives the same plan; another seed another', () => {
    expect(planFaults(rng(5), 90_000)).toEqual(planFaults(rng(5), 90_000));
    expect(planFaults(rng(5), 90_000)).not.toEqual(planFaults(rng(6), 90_000));
  });
});

describe('rng', () => {
  test('int stays within its bounds and reaches both', () => {
    const r = rng(3);
    const xs = Array.from({ length: 2000 }, () => r.int(2, 5));
    expect(Math.min(...xs)).toBe(2);
    expect(Math.max(...xs)).toBe(5);
  });
});

describe('planSubscribers', () => {
  test('every channel, both gateways, both starts, some late, filters on pinned projects only', () => {
    const pinned = ['p1', 'p2', 'p3'];
    const subs = planSubscribers(rng(11), 40, pinned, 60_000, 2);
    expect(new Set(subs.map((s) => s.channel)).size).toBe(5);
    expect(new Set(subs.map((s) => s.gateway))).toEqual(new Set([0, 1]));
    expect(new Set(subs.map((s) => s.start))).toEqual(new Set(['list', 'replay']));
    expect(subs.some((s) => s.joinAt > 0) && subs.some((s) => s.joinAt === 0)).toBe(true);
    for (const s of subs) {
      if (s.filter.project_id) expect(pinned).toContain(s.filter.project_id);
      expect(s.joinAt).toBeLessThanOrEqual(36_000);
    }
  });
});
