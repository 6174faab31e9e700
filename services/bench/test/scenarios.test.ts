import { describe, expect, test } from 'vitest';
import { BenchArgsError } from '../src/args';
import { naiveMatches } from '../src/naive-server';
import { SCENARIOS, SCENARIO_NAMES, aggregate, goals, liveJson, measuredOf, parseLiveOptions, ratio, roundOrder, scenarioPlan, subscriptionsOf, summarize, type Latency, type LiveOptions, type LiveResult } from '../src/scenarios';

const all = [...SCENARIO_NAMES];

describe('parseLiveOptions', () => {
  test.each<[string[], LiveOptions]>([
    [[], { rounds: 3, seconds: 5, rows: 200_000, json: false, scenarios: all }],
    [['--json'], { rounds: 3, seconds: 5, rows: 200_000, json: true, scenarios: all }],
    [['--rounds', '5'], { rounds: 5, seconds: 5, rows: 200_000, json: false, scenarios: all }],
    [['--quick'], { rounds: 1, seconds: 2, rows: 50_000, json: false, scenarios: all }],
    [['--quick', '--rounds=2', '--json'], { rounds: 2, seconds: 2, rows: 50_000, json: true, scenarios: all }],
    [['--seconds', '3', '--rows', '1000'], { rounds: 3, seconds: 3, rows: 1000, json: false, scenarios: all }],
    [['--scenarios', 'fanout-10000,clients-100'], { rounds: 3, seconds: 5, rows: 200_000, json: false, scenarios: ['clients-100', 'fanout-10000'] }],
    [['--scenarios=fanout-100, fanout-100'], { rounds: 3, seconds: 5, rows: 200_000, json: false, scenarios: ['fanout-100'] }],
  ])('%o', (argv, expected) => {
    expect(parseLiveOptions(argv)).toEqual(expected);
  });

  test.each([
    [['--rounds', '0'], '--rounds must be a positive whole number, got "0"'],
    [['--seconds', '1.5'], '--seconds must be a positive whole number, got "1.5"'],
    [['--scenarios', 'fanout'], `--scenarios takes a comma-separated list of ${all.join(', ')}; got "fanout"`],
    [['--scenarios', ','], `--scenarios takes a comma-separated list of ${all.join(', ')}; got ","`],
  ])('%o is refused', (argv, message) => {
    expect(() => parseLiveOptions(argv)).toThrow(new BenchArgsError(message));
  });

  test('an unknown option is refused by parseArgs', () => {
    expect(() => parseLiveOptions(['--clients', '5'])).toThrow(expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }));
  });
});

describe('roundOrder', () => {
  test.each([
    [1, ['ours', 'naive']],
    [2, ['naive', 'ours']],
    [3, ['ours', 'naive']],
  ])('round %d runs %o', (round, order) => {
    expect(roundOrder(round)).toEqual(order);
  });
});

describe('scenarios', () => {
  test.each([
    ['clients-100', 100, 100],
    ['clients-1000', 1000, 1000],
    ['fanout-100', 100, 1],
    ['fanout-10000', 10_000, 1],
  ] as const)('%s: %d subscriptions, %d timed', (name, subscriptions, measured) => {
    expect(subscriptionsOf(SCENARIOS[name])).toBe(subscriptions);
    expect(measuredOf(SCENARIOS[name])).toBe(measured);
  });

  test('both fan-out cases use the same sockets, so only the subscription count differs', () => {
    expect(SCENARIOS['fanout-100'].sockets).toBe(SCENARIOS['fanout-10000'].sockets);
    expect(SCENARIOS['fanout-100'].rate).toBe(SCENARIOS['fanout-10000'].rate);
  });
});

describe('scenarioPlan', () => {
  const projects = Array.from({ length: 10_000 }, (_, i) => `p${i}`);

  test('unfiltered: no filter, every subscription timed, a fresh project written to', () => {
    const plan = scenarioPlan(SCENARIOS['clients-100'], []);
    expect(plan.sockets).toHaveLength(100);
    expect(plan.sockets.flat().every((s) => s.measured && s.filter === undefined)).toBe(true);
    expect(plan.project).toBeNull();
    expect(plan.measured).toBe(100);
  });

  test.each(['fanout-100', 'fanout-10000'] as const)('%s: one project per subscription, only the hot one timed and written to', (name) => {
    const s = SCENARIOS[name];
    const plan = scenarioPlan(s, projects);
    const subs = plan.sockets.flat();
    expect(plan.sockets).toHaveLength(s.sockets);
    expect(subs).toHaveLength(subscriptionsOf(s));
    expect(new Set(subs.map((x) => x.filter!.project_id)).size).toBe(subs.length);
    expect(subs.filter((x) => x.measured)).toEqual([{ filter: { project_id: 'p0' }, measured: true }]);
    expect(plan.project).toBe('p0');
    expect(plan.measured).toBe(1);
  });

  test('too few projects is an error, not a shared filter', () => {
    expect(() => scenarioPlan(SCENARIOS['fanout-10000'], projects.slice(0, 100))).toThrow('fanout-10000 needs 10000 projects, got 100');
  });
});

const l = (p50: number, p95: number, p99: number, delivered = 1, stray = 0): Latency => ({ p50, p95, p99, delivered, stray });

describe('aggregate', () => {
  test.each<[Latency[], Latency]>([
    [[l(1, 2, 3)], l(1, 2, 3)],
    [[l(5, 9, 30), l(3, 7, 20), l(4, 8, 90, 0.5, 2)], l(4, 8, 30, 1, 0)],
    [[l(2, 4, 6), l(4, 8, 10, 0.9)], l(3, 6, 8, 0.95)],
    // A round that timed nothing (no delivery) does not drag the median to NaN.
    [[l(Number.NaN, Number.NaN, Number.NaN, 0), l(3, 4, 5)], l(3, 4, 5, 0.5)],
  ])('%#', (runs, expected) => {
    expect(aggregate(runs)).toEqual(expected);
  });

  test('no measured round is NaN', () => {
    expect(aggregate([l(Number.NaN, Number.NaN, Number.NaN)]).p99).toBeNaN();
  });
});

describe('ratio', () => {
  test.each<[number | null, number | null, number | null]>([
    [10, 20, 0.5],
    [3, 0, null],
    [Number.NaN, 2, null],
    [2, Number.NaN, null],
    [null, 2, null],
    [0, 5, 0],
  ])('%s / %s is %s', (a, b, expected) => {
    expect(ratio(a, b)).toBe(expected);
  });
});

const result: LiveResult = {
  rounds: 2,
  seconds: 5,
  loadAtStart: [1.234, 0.5, 0.25],
  cores: 2,
  scenarios: summarize({
    'clients-100': { ours: [l(4, 9, 30), l(6, 11, 40)], naive: [l(8, 16, 50), l(10, 20, 60)] },
    'fanout-100': { ours: [l(3, 5, 10)], naive: [l(6, 14, 20)] },
    'fanout-10000': { ours: [l(3, 6, 16)], naive: [l(80, 300, 600, 0.9, 0)] },
  }),
  replay: { rows: 200_000, ours: 123_456.7891, naive: null },
};

describe('summarize', () => {
  test('medians per design, only for the scenarios that ran, in their order', () => {
    expect(Object.keys(result.scenarios)).toEqual(['clients-100', 'fanout-100', 'fanout-10000']);
    expect(result.scenarios['clients-100']).toEqual({ label: SCENARIOS['clients-100'].label, subscriptions: 100, rate: 1000, ours: l(5, 10, 35), naive: l(9, 18, 55) });
  });
});

describe('goals', () => {
  test('each goal as the ratio it is stated in, met or not', () => {
    expect(goals(result)).toEqual([
      { goal: 'clients-100: ours p50 / naive p50 ≤ 1', value: 5 / 9, met: true },
      { goal: 'clients-100: ours p99 / naive p99 ≤ 1', value: 35 / 55, met: true },
      { goal: 'fan-out: ours p99 at 10,000 / at 100 subscriptions ≤ 1.5', value: 1.6, met: false },
      { goal: 'replay to one client ≥ 100,000 changes/s', value: 123_456.7891, met: true },
    ]);
  });

  test('a figure that was not measured is judged null, not met', () => {
    const unmeasured = { ...result, replay: { ...result.replay, ours: Number.NaN } };
    expect(goals(unmeasured).at(-1)).toEqual({ goal: 'replay to one client ≥ 100,000 changes/s', value: null, met: null });
  });
});

describe('liveJson', () => {
  const json = liveJson(result);

  test('is one line of JSON that parses back to itself (no NaN, no Infinity)', () => {
    const line = JSON.stringify(liveJson({ ...result, scenarios: summarize({ 'clients-100': { ours: [l(Number.NaN, Number.NaN, Number.NaN, 0)], naive: [l(1, 2, 3)] } }) }));
    expect(line).not.toContain('\n');
    expect(JSON.parse(line).scenarios['clients-100'].ours).toEqual({ p50: null, p95: null, p99: null, delivered: 0, stray: 0 });
  });

  test('its shape', () => {
    expect(Object.keys(json)).toEqual(['bench', 'rounds', 'seconds', 'cores', 'loadAtStart', 'scenarios', 'fanoutP99Ratio', 'replay', 'goals']);
    expect(json.loadAtStart).toEqual([1.23, 0.5, 0.25]);
    expect(json.replay).toEqual({ rows: 200_000, ours: 123_456.789, naive: null });
    expect(json.fanoutP99Ratio).toEqual({ ours: 1.6, naive: 30 });
    expect((json.scenarios as Record<string, unknown>)['clients-100']).toEqual({
      label: SCENARIOS['clients-100'].label,
      subscriptions: 100,
      changesPerSecond: 1000,
      ours: { p50: 5, p95: 10, p99: 35, delivered: 1, stray: 0 },
      naive: { p50: 9, p95: 18, p99: 55, delivered: 1, stray: 0 },
      oursOverNaive: { p50: 0.556, p95: 0.556, p99: 0.636 },
    });
    expect((json.goals as unknown[]).length).toBe(4);
  });

  test('without both fan-out cases there is no fan-out ratio', () => {
    expect(liveJson({ ...result, scenarios: { 'fanout-100': result.scenarios['fanout-100']! } }).fanoutP99Ratio).toBeNull();
  });
});

describe('naiveMatches', () => {
  test.each<[Record<string, unknown> | null, Record<string, string | number | boolean | null>, boolean]>([
    [{ project_id: 'a', name: 'x' }, { project_id: 'a' }, true],
    [{ project_id: 'b' }, { project_id: 'a' }, false],
    [{ project_id: 'a', status: 'done' }, { project_id: 'a', status: 'queued' }, false],
    [{ project_id: 'a' }, {}, true],
    [null, { project_id: 'a' }, false],
    [{ n: 1 }, { n: '1' }, false],
  ])('%o against %o is %s', (row, filter, expected) => {
    expect(naiveMatches(row, filter)).toBe(expected);
  });
});
