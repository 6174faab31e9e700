import { describe, expect, test } from 'vitest';
import { countByKind, onceFaults, planFaults, planSubscribers, planUsers, redisFaults, serverFaultsOf } from './plan';
import { rng } from './rng';

describe('planFaults', () => {
  test.each([
    { seconds: 60, seed: 1, redis: false },
    { seconds: 60, seed: 99, redis: false },
    { seconds: 180, seed: 7, redis: false },
    { seconds: 180, seed: 123456, redis: false },
    { seconds: 60, seed: 1, redis: true },
    { seconds: 75, seed: 42, redis: true },
    { seconds: 180, seed: 7, redis: true },
  ])('$seconds s, seed $seed, Redis $redis: every server fault of the run, each Postgres fault once, all in the first four fifths, in time order', ({ seconds, seed, redis }) => {
    const plan = planFaults(rng(seed), seconds * 1000, redis);
    const counts = countByKind([...plan.server, ...plan.client]);
    const serverFaults = serverFaultsOf(redis);
    for (const k of serverFaults) expect(counts[k], k).toBeGreaterThanOrEqual(1);
    for (const k of redisFaults) expect(counts[k] > 0, k).toBe(redis);
    expect(counts['postgres-restart']).toBe(1);
    expect(counts['postgres-crash']).toBe(1);
    expect(counts.restore).toBe(1);
    const kinds = plan.server.map((f) => f.kind);
    expect(kinds.indexOf('postgres-restart'), 'the restart comes before the crash').toBeLessThan(kinds.indexOf('postgres-crash'));
    const others = serverFaults.filter((k) => !onceFaults.includes(k)).map((k) => counts[k]);
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

describe('planUsers', () => {
  test.each([
    { users: 5, pinned: 4, seed: 1 },
    { users: 5, pinned: 4, seed: 2 },
    { users: 2, pinned: 4, seed: 3 },
    { users: 1, pinned: 4, seed: 4 },
  ])('$users users, $pinned pinned, seed $seed: each pinned project has its creator as owner; no project twice', ({ users, pinned, seed }) => {
    const plan = planUsers(rng(seed), users, pinned);
    expect(plan.map((u) => u.index)).toEqual([...Array(users).keys()]);
    for (let k = 0; k < pinned; k++) expect(plan[k % users]!.memberships).toContainEqual({ project: k, role: 'owner' });
    for (const u of plan) {
      const projects = u.memberships.map((m) => m.project);
      expect(new Set(projects).size).toBe(projects.length);
    }
  });

  test('over several users the roles vary and some pinned projects are withheld', () => {
    const plan = planUsers(rng(8), 6, 4);
    expect(new Set(plan.flatMap((u) => u.memberships.map((m) => m.role)))).toEqual(new Set(['viewer', 'editor', 'owner']));
    expect(plan.some((u) => u.memberships.length < 4)).toBe(true);
  });
});

describe('planSubscribers', () => {
  const pinned = ['p1', 'p2', 'p3', 'p4'];
  const users = planUsers(rng(12), 5, pinned.length);

  test('every channel, both gateways, both starts, some late, filters on pinned projects only', () => {
    const subs = planSubscribers(rng(11), 40, pinned, 60_000, 2, users);
    expect(new Set(subs.map((s) => s.channel)).size).toBe(5);
    expect(new Set(subs.map((s) => s.gateway))).toEqual(new Set([0, 1]));
    expect(new Set(subs.map((s) => s.start))).toEqual(new Set(['list', 'replay']));
    expect(subs.some((s) => s.joinAt > 0) && subs.some((s) => s.joinAt === 0)).toBe(true);
    for (const s of subs) {
      if (s.filter.project_id) expect(pinned).toContain(s.filter.project_id);
      expect(s.joinAt).toBeLessThanOrEqual(36_000);
    }
  });

  test('one service token, replaying; every user has subscribers; most project filters are on a project the user holds', () => {
    const subs = planSubscribers(rng(13), 40, pinned, 60_000, 2, users);
    const service = subs.filter((s) => s.user === null);
    expect(service).toHaveLength(1);
    expect(service[0]!.start).toBe('replay');
    expect(new Set(subs.flatMap((s) => (s.user === null ? [] : [s.user])))).toEqual(new Set([0, 1, 2, 3, 4]));
    const filtered = subs.filter((s) => s.user !== null && s.filter.project_id);
    const held = filtered.filter((s) => users[s.user!]!.memberships.some((m) => pinned[m.project] === s.filter.project_id));
    expect(held.length).toBeGreaterThan(filtered.length / 2);
  });

  test('one user subscriber, joining at the start, lets its token run out; the others renew theirs', () => {
    const subs = planSubscribers(rng(14), 24, pinned, 60_000, 2, users);
    const sleepers = subs.filter((s) => !s.renews);
    expect(sleepers).toHaveLength(1);
    expect(sleepers[0]!.user).not.toBeNull();
    expect(sleepers[0]!.joinAt).toBe(0);
  });

  test('without users every subscriber holds the service token', () => {
    expect(planSubscribers(rng(1), 6, pinned, 60_000, 2, []).every((s) => s.user === null)).toBe(true);
  });
});
