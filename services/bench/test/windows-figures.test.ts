import { describe, expect, test } from 'vitest';
import { BenchArgsError } from '../src/args';
import { firstRowsOf, longTasksOf, parseWindowsOptions, ratioOf, windowsFigures, windowsGoals, windowsJson, type LoadSample, type WindowsRaw } from '../src/windows-figures';

const sample = (project: 'small' | 'large', kind: 'cold' | 'warm', ms: number, round = 0): LoadSample => ({ project, kind, round, msToFirstRows: ms, requests: 10, httpBytes: 1000 + ms, apiBytes: 100, wsBytes: 50 });

const raw = (samples: LoadSample[], longTasks: number[] = []): WindowsRaw => ({
  jobs: { small: 10, large: 100_000 },
  samples,
  underLoad: { changes: 9_000, writeSeconds: 10, longTasks, frames: 600, scrollMs: 10_000, rowsLoaded: 700, totalShown: 101_000, totalInDb: 101_000, msToAgree: 120 },
});

describe('parseWindowsOptions', () => {
  test.each([
    [[], { rounds: 3, smallJobs: 10, largeJobs: 100_000, rate: 1000, seconds: 10, json: false }],
    [['--json'], { rounds: 3, smallJobs: 10, largeJobs: 100_000, rate: 1000, seconds: 10, json: true }],
    [['--quick'], { rounds: 1, smallJobs: 10, largeJobs: 10_000, rate: 1000, seconds: 3, json: false }],
    [['--quick', '--rounds', '2', '--large=5000'], { rounds: 2, smallJobs: 10, largeJobs: 5000, rate: 1000, seconds: 3, json: false }],
    [['--rate', '500', '--seconds', '4', '--small', '20'], { rounds: 3, smallJobs: 20, largeJobs: 100_000, rate: 500, seconds: 4, json: false }],
  ])('%o', (argv, expected) => {
    expect(parseWindowsOptions(argv)).toEqual(expected);
  });

  test.each([
    [['--rounds', '0'], '--rounds must be a positive whole number, got "0"'],
    [['--large', '1e5'], '--large must be a positive whole number, got "1e5"'],
  ])('%o is refused', (argv, message) => {
    expect(() => parseWindowsOptions(argv)).toThrow(new BenchArgsError(message));
  });

  test('an unknown option is refused', () => {
    expect(() => parseWindowsOptions(['--rows', '5'])).toThrow(/--rows/);
  });
});

describe('figures', () => {
  test.each([
    [[], { count: 0, totalMs: 0, maxMs: 0, over200: 0 }],
    [[51, 200, 201.5], { count: 3, totalMs: 452.5, maxMs: 201.5, over200: 1 }],
  ])('longTasksOf(%o)', (durations, expected) => {
    expect(longTasksOf(durations)).toEqual(expected);
  });

  test.each([
    [150, 100, 1.5],
    [0, 100, 0],
    [100, 0, null],
    [Number.NaN, 100, null],
    [100, Number.NaN, null],
  ])('ratioOf(%o, %o) = %o', (a, b, expected) => {
    expect(ratioOf(a, b)).toBe(expected);
  });

  test('firstRowsOf takes the medians of one project and kind', () => {
    const samples = [sample('small', 'cold', 300, 0), sample('small', 'cold', 100, 1), sample('small', 'cold', 200, 2), sample('small', 'warm', 50), sample('large', 'cold', 900)];
    expect(firstRowsOf(samples, 'small', 'cold')).toEqual({ samples: 3, ms: 200, bytes: 1250, apiBytes: 100, requests: 10 });
    expect(firstRowsOf(samples, 'large', 'warm').samples).toBe(0);
  });

  test('ratios, rates and goals of a run', () => {
    const f = windowsFigures(raw([sample('small', 'cold', 400), sample('large', 'cold', 800), sample('small', 'warm', 100), sample('large', 'warm', 120)], [60, 250]));
    expect(f.ratios).toEqual({ cold: 2, warm: 1.2 });
    expect(f.underLoad.changesPerSecond).toBe(900);
    expect(f.underLoad.fps).toBe(60);
    expect(windowsGoals(f).map((g) => [g.value, g.met])).toEqual([
      [2, false],
      [1.2, true],
      [800, true],
      [120, true],
      [1, false],
    ]);
  });

  test('a goal not measured is neither met nor missed', () => {
    const f = windowsFigures(raw([sample('small', 'cold', 400)]));
    const goals = windowsGoals(f);
    expect(goals[0]).toMatchObject({ value: null, met: null });
    expect(goals[3]).toMatchObject({ value: null, met: null });
    expect(goals[4]).toMatchObject({ value: 0, met: true });
  });

  test('the JSON line holds no NaN (null instead) and survives a round trip', () => {
    const f = windowsFigures(raw([sample('small', 'cold', 400)]));
    const json = windowsJson(f, parseWindowsOptions([]), { cores: 2, loadAtStart: [1.234, 1, 1] });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json).toMatchObject({ bench: 'windows', largeOverSmall: { cold: null, warm: null }, firstRows: { large: { cold: { samples: 0, ms: null } } }, loadAtStart: [1.23, 1, 1] });
  });
});
