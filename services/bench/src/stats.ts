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

/** A Prometheus histogram as cumulative counts by upper bound (`le`), Infinity last. */
export type Buckets = readonly (readonly [le: number, count: number])[];

/**
 * The q-quantile (0..1) of a histogram, interpolated inside its bucket as Prometheus's
 * histogram_quantile does; null with no observations. In the +Inf bucket it is the highest
 * finite bound (nothing better is known).
 */
export function histogramQuantile(q: number, buckets: Buckets): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return count === prevCount ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** What a histogram counted between two readings (`later` minus `earlier`, bound by bound). */
export function bucketsBetween(earlier: Buckets, later: Buckets): Buckets {
  const before = new Map(earlier);
  return later.map(([le, count]) => [le, count - (before.get(le) ?? 0)] as const);
}

/** A histogram's buckets from the Prometheus text format, summed over its other labels. */
export function histogramBuckets(text: string, name: string): Buckets {
  const byLe = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== `${name}_bucket`) continue;
    const le = /(?:^|,)le="([^"]*)"/.exec(m[2]!)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + Number(m[3]));
  }
  return [...byLe].sort((a, b) => a[0] - b[0]);
}
