// Shared by the benchmark scripts: printing, and the statistics they report.
export const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

/** The wall clock to a fraction of a millisecond (Date.now() counts whole ones). */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

const FRACTION = /\.(\d+)(?:Z|[+-]\d\d(?::?\d\d)?)$/;

/**
 * Milliseconds from a change's commit (`committedAt`, ISO 8601) to `arrivedMs`
 * (wallClockMs()). Digits past the millisecond are read (the naive design sends
 * microseconds); a time printed to the millisecond, which truncates, is taken at the
 * middle of its millisecond. Whole milliseconds on both ends made every latency an
 * integer, so medians of 3 and 4 ms could not be told apart from 3.4 and 3.6.
 */
export function latencyMs(committedAt: string, arrivedMs: number): number {
  const at = Date.parse(committedAt);
  if (Number.isNaN(at)) throw new Error(`committedAt is not an ISO 8601 time: ${JSON.stringify(committedAt)}`);
  const digits = FRACTION.exec(committedAt)?.[1] ?? '';
  // Date.parse keeps the first three digits: those past them, then half the last digit's unit.
  const past = digits.length > 3 ? Number(`0.${digits.slice(3)}`) : 0;
  return arrivedMs - (at + past + 0.5 * 10 ** (3 - digits.length));
}
