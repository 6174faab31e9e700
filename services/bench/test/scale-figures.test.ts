import { describe, expect, test } from 'vitest';
import { BenchArgsError } from '../src/args';
import { parseScaleOptions, scaleFigures, scaleGoals, scaleJson, withoutPostgres, type LiveRun, type LogMode, type ScaleRaw, type StormRun } from '../src/scale-figures';

const live = (mode: LogMode, gateways: number, p50: number, rowsRead: number, written = 1000): LiveRun => ({ mode, gateways, p50, p99: p50 * 3, delivered: 1, written, rowsRead, feedFromPostgres: mode === 'off' ? written * gateways : 0 });

const storm = (mode: LogMode, over: Partial<StormRun> = {}): StormRun => ({
  mode,
  subscriptions: 25_000,
  live: 25_000,
  resyncs: 0,
  refused: 0,
  why: {},
  retries: 0,
  ms: 4_000,
  replayed: { min: 100, mean: 100, max: 100 },
  sources: mode === 'redis' ? { ring: 0, redis: 25_000, postgres: 0 } : { ring: 0, redis: 0, postgres: 25_000 },
  rowsRead: mode === 'redis' ? 20_000 : 5_000_000,
  before: { count: 2000, p50: 5, p99: 20 },
  during: { count: 800, p50: 9, p99: 30 },
  gatewayP99: { before: 8, during: 14 },
  cpu: { gateway: 3, clients: 4 },
  ...over,
});

const raw = (over: { storm?: StormRun[]; live?: LiveRun[] } = {}): ScaleRaw => ({
  live: over.live ?? [live('off', 1, 10, 3000), live('off', 2, 11, 5000), live('off', 4, 12, 9000), live('redis', 1, 11, 2000), live('redis', 2, 11, 2050), live('redis', 4, 13, 2100)],
  storm: over.storm ?? [storm('off'), storm('redis')],
});

describe('parseScaleOptions', () => {
  test.each([
    [[], { sockets: 5000, subs: 5, missed: 100, seconds: 10, unaffected: 200, rate: 500, only: null, ring: 0, json: false }],
    [['--json'], { sockets: 5000, subs: 5, missed: 100, seconds: 10, unaffected: 200, rate: 500, only: null, ring: 0, json: true }],
    [['--sockets', '200'], { sockets: 200, subs: 5, missed: 100, seconds: 10, unaffected: 200, rate: 500, only: null, ring: 0, json: false }],
    [['--only', 'storm', '--sockets', '200'], { sockets: 200, subs: 5, missed: 100, seconds: 10, unaffected: 200, rate: 500, only: 'storm', ring: 0, json: false }],
    [['--ring', '0'], { sockets: 5000, subs: 5, missed: 100, seconds: 10, unaffected: 200, rate: 500, only: null, ring: 0, json: false }],
    [['--ring=100000'], { sockets: 5000, subs: 5, missed: 100, seconds: 10, unaffected: 200, rate: 500, only: null, ring: 100_000, json: false }],
    [['--sockets=50', '--subs', '2', '--missed', '10', '--seconds', '3', '--unaffected', '20', '--rate', '100'], { sockets: 50, subs: 2, missed: 10, seconds: 3, unaffected: 20, rate: 100, only: null, ring: 0, json: false }],
  ])('%o', (argv, expected) => {
    expect(parseScaleOptions(argv)).toEqual(expected);
  });

  test.each([
    [['--sockets', '0'], '--sockets must be a positive whole number, got "0"'],
    [['--missed', '1e2'], '--missed must be a positive whole number, got "1e2"'],
    [['--subs=-5'], '--subs must be a positive whole number, got "-5"'],
    [['--only', 'replay'], '--only takes live or storm, got "replay"'],
    [['--ring', 'big'], '--ring must be a whole number of changes (0: no ring), got "big"'],
  ])('%o is refused', (argv, message) => {
    expect(() => parseScaleOptions(argv)).toThrow(new BenchArgsError(message));
  });

  test('an unknown option is refused', () => {
    expect(() => parseScaleOptions(['--clients', '5'])).toThrow(/--clients/);
  });
});

describe('figures', () => {
  test.each([
    [{ ring: 0, redis: 99, postgres: 1 }, 0.99],
    [{ ring: 50, redis: 50, postgres: 0 }, 1],
    [{ ring: 0, redis: 0, postgres: 10 }, 0],
    [{ ring: 0, redis: 0, postgres: 0 }, null],
  ])('withoutPostgres(%o) = %o', (sources, expected) => {
    expect(withoutPostgres(sources)).toBe(expected);
  });

  test('ratios of a run', () => {
    const f = scaleFigures(raw());
    expect(f.live.find((r) => r.mode === 'redis' && r.gateways === 4)?.rowsPerChange).toBe(2.1);
    expect(f.ratios.p50RedisOverOff).toEqual({ 1: 1.1, 2: 1, 4: 13 / 12 });
    expect(f.ratios.rowsFourOverOne).toEqual({ redis: 1.05, off: 3 });
    expect(f.ratios.stormRowsRedisOverOff).toBe(0.004);
    expect(f.storm.map((s) => [s.withoutPostgres, s.unaffectedP99Ratio, s.gatewayP99Ratio])).toEqual([
      [0, 1.5, 1.75],
      [1, 1.5, 1.75],
    ]);
  });

  test("gateway C's p99 ratio is not measured without deliveries in a window", () => {
    const f = scaleFigures(raw({ storm: [storm('redis', { gatewayP99: { before: null, during: 12 } })] }));
    expect(f.storm[0]!.gatewayP99Ratio).toBeNull();
    const j = scaleJson(f, parseScaleOptions([]), { cores: 2, loadAtStart: [0, 0, 0] }) as { storm: { unaffected: { gatewayP99: unknown } }[] };
    expect(j.storm[0]!.unaffected.gatewayP99).toEqual({ before: null, during: 12, ratio: null });
  });

  test('rows per change is not measured when nothing was written', () => {
    const f = scaleFigures(raw({ live: [live('redis', 1, 10, 500, 0), live('redis', 4, 10, 500)] }));
    expect(f.live[0]!.rowsPerChange).toBeNull();
    expect(f.ratios.rowsFourOverOne.redis).toBeNull();
  });
});

describe('goals', () => {
  const goals = (r: ScaleRaw) => scaleGoals(scaleFigures(r)).map((g) => [g.value, g.met]);

  test('a run that meets every goal', () => {
    expect(goals(raw())).toEqual([
      [1, true],
      [0.004, true],
      [4, true],
      [1.5, true],
      [1.05, true],
      [1.1, true],
    ]);
  });

  test.each([
    ['Postgres serves replays', { sources: { ring: 0, redis: 98, postgres: 2 } }, 0, [0.98, false]],
    ['rows read over 1% of the run without Redis', { rowsRead: 60_000 }, 1, [0.012, false]],
    ['slower than 10 s', { ms: 10_001 }, 2, [10.001, false]],
    ['fast, but not every subscription live', { live: 24_999, resyncs: 1 }, 2, [4, false]],
    ['unaffected p99 tripled', { during: { count: 10, p50: 20, p99: 61 } }, 3, [3.05, false]],
    ['no deliveries during the storm', { during: { count: 0, p50: null, p99: null } }, 3, [null, null]],
  ])('%s', (_name, over, index, expected) => {
    expect(goals(raw({ storm: [storm('off'), storm('redis', over)] }))[index]).toEqual(expected);
  });

  test('without a Redis storm or live runs, those goals are not measured', () => {
    expect(goals({ live: [], storm: [storm('off')] })).toEqual([
      [null, null],
      [null, null],
      [null, null],
      [null, null],
      [null, null],
      [null, null],
    ]);
  });

  test('the live p50 goal takes the worst gateway count', () => {
    const runs = [live('off', 1, 10, 1), live('redis', 1, 11, 1), live('off', 4, 10, 1), live('redis', 4, 13, 1)];
    expect(goals(raw({ live: runs }))[5]).toEqual([1.3, false]);
  });
});

test('the JSON line carries the options, every figure, the ratios and the goals', () => {
  const o = parseScaleOptions(['--sockets', '200']);
  const j = scaleJson(scaleFigures(raw()), o, { cores: 2, loadAtStart: [1.234, 0.5, 0.25] });
  expect(j).toMatchObject({
    bench: 'scale',
    options: { sockets: 200, subs: 5, missed: 100 },
    cores: 2,
    loadAtStart: [1.23, 0.5, 0.25],
    ratios: { rowsFourOverOne: { redis: 1.05, off: 3 }, stormRowsRedisOverOff: 0.004 },
  });
  expect(j.rowsRead).toMatch(/tup_returned \+ tup_fetched/);
  expect((j.live as unknown[]).length).toBe(6);
  expect((j.storm as { seconds: number; withoutPostgres: number }[]).map((s) => [s.seconds, s.withoutPostgres])).toEqual([
    [4, 0],
    [4, 1],
  ]);
  expect((j.storm as { cpuSeconds: unknown }[])[0]!.cpuSeconds).toEqual({ gateway: 3, stormClients: 4 });
  expect((j.goals as { met: boolean }[]).every((g) => g.met)).toBe(true);
  expect(JSON.parse(JSON.stringify(j))).toEqual(j);
});
