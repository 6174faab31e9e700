// Argument checks shared by the benchmark scripts: a bad argument stops the run before
// any cluster starts, with a message that names it.
export class BenchArgsError extends Error {
  override readonly name = 'BenchArgsError';
}

/** Each option as a positive whole number, or a BenchArgsError naming the first that is not. */
export function positiveInts<K extends string>(values: Partial<Record<K, string | boolean | undefined>>): Record<K, number> {
  const numbers = {} as Record<K, number>;
  for (const [k, v] of Object.entries(values) as [K, string | boolean | undefined][]) {
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 1) throw new BenchArgsError(`--${k} must be a positive whole number, got "${String(v)}"`);
    numbers[k] = n;
  }
  return numbers;
}
