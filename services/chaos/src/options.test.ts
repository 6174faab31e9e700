import { describe, expect, test } from 'vitest';
import { again, defaults, parseOptions, type ChaosOptions } from './options';

const base: ChaosOptions = { seed: 7, ...defaults, redis: true, keep: false };

describe('parseOptions', () => {
  test.each([
    { args: [], want: { ...base } },
    { args: ['--seed', '42', '--seconds', '60'], want: { ...base, seed: 42, seconds: 60 } },
    { args: ['--subscribers', '3', '--writers', '1', '--users', '2', '--keep'], want: { ...base, subscribers: 3, writers: 1, users: 2, keep: true } },
    { args: ['--seed', '4294967295'], want: { ...base, seed: 2 ** 32 - 1 } },
    { args: ['--no-redis'], want: { ...base, redis: false } },
  ])('$args', ({ args, want }) => {
    expect(parseOptions(args, () => 7)).toEqual({ ok: true, options: want });
  });

  test.each([
    { args: ['--seconds', '59'], message: '--seconds must be a whole number from 60 to 3600, got "59"' },
    { args: ['--seconds', '1.5'], message: '--seconds must be a whole number from 60 to 3600, got "1.5"' },
    { args: ['--writers', '0'], message: '--writers must be a whole number from 1 to 32, got "0"' },
    { args: ['--seed=-1'], message: '--seed must be a whole number from 0 to 4294967295, got "-1"' },
    { args: ['--users', 'many'], message: '--users must be a whole number from 1 to 50, got "many"' },
  ])('$args is refused', ({ args, message }) => {
    expect(parseOptions(args, () => 7)).toEqual({ ok: false, message });
  });

  test('an unknown option is refused with the usage', () => {
    const r = parseOptions(['--fast'], () => 7);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/Unknown option '--fast'[\s\S]*usage: npm run test:chaos/);
  });
});

test.each([
  { o: base, queue: 2, want: 'npm run test:chaos -- --seed 7 --seconds 150' },
  { o: { ...base, seconds: 75, writers: 8 }, queue: 2, want: 'npm run test:chaos -- --seed 7 --seconds 75 --writers 8' },
  { o: { ...base, keep: true, users: 9 }, queue: 0, want: 'CHAOS_QUEUE_WRITERS=0 npm run test:chaos -- --seed 7 --seconds 150 --users 9' },
  { o: { ...base, redis: false }, queue: 2, want: 'npm run test:chaos -- --seed 7 --seconds 150 --no-redis' },
])('again: $want', ({ o, queue, want }) => {
  expect(again(o, queue, 2)).toBe(want);
});
