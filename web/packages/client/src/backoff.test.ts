import { describe, expect, test } from 'vitest';
import { backoffDelay } from './backoff.js';

const mid = () => 0.5; // no jitter either way

describe('backoffDelay', () => {
  test.each([
    [0, 500],
    [1, 1000],
    [2, 2000],
    [5, 16_000],
    [6, 30_000],
    [20, 30_000],
  ])('attempt %i waits %i ms', (attempt, ms) => {
    expect(backoffDelay(attempt, mid)).toBe(ms);
  });

  test('jitter stays within ±20% and never passes 30 s', () => {
    expect(backoffDelay(2, () => 0)).toBe(1600);
    expect(backoffDelay(2, () => 1)).toBe(2400);
    expect(backoffDelay(10, () => 1)).toBe(30_000);
  });
});
