import { describe, expect, test } from 'vitest';
import { RESULTS } from './fixture';
import { figures, formatGoal, formatValue, missedGoals, renderPage, renderTable, scenarioOf, verdict, type Figure, type Goal, type Unit } from '../src/report';

const results = RESULTS;

describe('verdict', () => {
  test.each<[number | string | null, Goal | null, 'met' | 'missed' | null]>([
    [0.75, { atLeast: 0.75 }, 'met'],
    [0.74, { atLeast: 0.75 }, 'missed'],
    [5, { atMost: 5 }, 'met'],
    [6, { atMost: 5 }, 'missed'],
    [0, { atMost: 0 }, 'met'],
    [1, null, null],
    [null, { atLeast: 1 }, null],
    ['none', { atLeast: 1 }, null],
    [Number.NaN, { atMost: 5 }, null],
  ])('%s against %o is %s', (value, goal, expected) => {
    expect(verdict(value, goal)).toBe(expected);
  });
});

describe('formatValue and formatGoal', () => {
  test.each<[number | string | null, Unit, string]>([
    [12515.4, 'tps', '12,515 tps'],
    [38238.2, 'per-s', '38,238/s'],
    [0.6425, 'ratio', '0.64'],
    [0.2497, 'ratio', '0.24'],
    [0.75, 'ratio', '0.75'],
    [0.29, 'ratio', '0.29'],
    [57, 'ms', '57 ms'],
    [192, 'count', '192'],
    [0.987, 'share', '98.7%'],
    [null, 'ms', 'n/a'],
    ['none (x)', 'per-s', 'none (x)'],
    [Number.NaN, 'ms', 'not measured'],
  ])('%s as %s is %s', (value, unit, expected) => {
    expect(formatValue(value, unit)).toBe(expected);
  });

  test.each<[Goal | null, Unit, string]>([
    [{ atLeast: 50_000 }, 'per-s', '≥ 50,000/s'],
    [{ atMost: 25 }, 'ms', '≤ 25 ms'],
    [{ atLeast: 0.75 }, 'ratio', '≥ 0.75'],
    [null, 'ms', ''],
  ])('%o', (goal, unit, expected) => {
    expect(formatGoal(goal, unit)).toBe(expected);
  });
});

describe('figures', () => {
  const rows = figures(results);
  const row = (label: string) => rows.find((f) => f.label === label)!;

  test.each<[string, number | string | null, number | string | null]>([
    ['Writes with change capture, ratio to no trigger', 0.75, 4_000 / 12_000],
    ['Replicator, share of the bare consumer ceiling', 0.3, null],
    ['Replay to one client', 120_000, 'none (a reconnecting client misses what was written while it was away)'],
    ['Changes a client away ~1 s never receives', 0, 192],
    ['Live p99, 100 clients at 1,000 changes/s', 30, 49],
    ['Live p50, 100 clients at 1,000 changes/s, ours over baseline', 4 / 9, null],
    ['Live p99, 1,000 clients at 100 changes/s', 90, 91],
    ['Live p50, 1,000 clients at 100 changes/s, ours over baseline', 40 / 31, null],
    ['Deliveries received, 1,000 clients at 100 changes/s', 1, 0.98],
    ['Fan-out p99, 10,000 filtered subscriptions', 15, 600],
    ['Fan-out p99, 10,000 over 100 filtered subscriptions', 15 / 12, 600 / 20],
    ['Changes sent to a subscription its filter excludes', 0, 0],
    ['A 9,000-byte row: clients that receive it', 1, 0],
  ])('%s: ours %s, baseline %s', (label, ours, baseline) => {
    expect(row(label).ours).toBeCloseTo(ours as number);
    if (typeof baseline === 'number') expect(row(label).baseline).toBeCloseTo(baseline);
    else expect(row(label).baseline).toBe(baseline);
  });

  test('every figure of ours is a number', () => {
    for (const f of rows) expect(typeof f.ours).toBe('number');
  });

  test('the baseline failure of the large row says why', () => {
    expect(row('A 9,000-byte row: clients that receive it').baselineNote).toBe('the write failed: payload string too long');
  });
});

describe('renderTable', () => {
  const f = (over: Partial<Figure>): Figure => ({ label: 'x', unit: 'ms', ours: 1, baseline: 2, goal: null, ...over });
  test.each<[Figure, string]>([
    [f({ goal: { atMost: 5 } }), '| x | 1 ms | 2 ms | ≤ 5 ms | met | met |'],
    [f({ ours: 9, baseline: 3, goal: { atMost: 5 } }), '| x | 9 ms | 3 ms | ≤ 5 ms | **missed** | met |'],
    [f({ baseline: null }), '| x | 1 ms | n/a |  |  |  |'],
    [f({ unit: 'per-s', ours: 30_000, baseline: 4_000, goal: { atLeast: 25_000 }, judgeBaseline: false }), '| x | 30,000/s | 4,000/s | ≥ 25,000/s | met |  |'],
    [f({ label: 'a|b', oursNote: 'n' }), '| a\\|b | 1 ms (n) | 2 ms |  |  |  |'],
  ])('%o', (figure, line) => {
    expect(renderTable([figure]).split('\n')[2]).toBe(line);
  });
});

describe('missedGoals', () => {
  test('names each missed goal of ours, and only those', () => {
    expect(missedGoals(figures(results))).toEqual([
      'Live p99, 100 clients at 1,000 changes/s: 30 ms against a goal of ≤ 25 ms: missed.',
      'Live p50, 1,000 clients at 100 changes/s, ours over baseline: 1.29 against a goal of ≤ 1.00: missed.',
    ]);
  });
});

describe('renderPage', () => {
  const page = renderPage(results, { cpu: 'Test CPU', cores: 2, memoryGiB: 7.8, node: 'v20.19.0', postgres: '18.0', date: '2026-01-01T00:00:00Z', minutes: 9.5, loadAtStart: 0.4 }, { rounds: 3, liveSeconds: 5, svgFile: 'benchmarks.svg' });
  test.each(['Test CPU, 2 cores', '200,000 changes to `projects` (inserted for it', '**Fan-out.**', '| Fan-out p99, 10,000 over 100 filtered subscriptions | 1.25 | 30.00 | ≤ 1.50 | met | **missed** |', '7.8 GiB', 'Node v20.19.0, Postgres 18.0', '2026-01-01T00:00:00Z', '](benchmarks.svg)', 'median of 3 rounds', 'began: 0.40', '| Live p99, 100 clients at 1,000 changes/s | 30 ms | 49 ms | ≤ 25 ms | **missed** | **missed** |', '- Live p99, 100 clients'])('contains %s', (text) => {
    expect(page).toContain(text);
  });
});

describe('scenarioOf', () => {
  test('a scenario the run skipped reads as not measured', () => {
    const partial = { ...results, live: { ...results.live, scenarios: {} } };
    expect(scenarioOf(partial, 'fanout-100').ours.p99).toBeNaN();
    expect(figures(partial).find((f) => f.label === 'Fan-out p99, 10,000 over 100 filtered subscriptions')!.ours).toBeNaN();
  });
});
