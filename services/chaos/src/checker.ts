// The checker's rules, pure. What a subscriber received is compared with what the
// outbox says it should have received; a cache with a fresh read of the database; the
// outbox's seqs with 1..N. Each rule counts its failures and names the first one, so
// that a failing run says where to look.

export interface Findings {
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Received but not theirs: outside the filter, or already in the list it started from. */
  unexpected: number;
  /** The first problem, in words, or null. */
  first: string | null;
}

export const noFindings = (): Findings => ({ lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0, first: null });

export function addFindings(a: Findings, b: Findings): Findings {
  return {
    lost: a.lost + b.lost,
    duplicated: a.duplicated + b.duplicated,
    outOfOrder: a.outOfOrder + b.outOfOrder,
    unexpected: a.unexpected + b.unexpected,
    first: a.first ?? b.first,
  };
}

/**
 * One subscription's life, from its start (a seq or a list's cursor) to its end: a
 * `resync` (`complete` false: only what came before its last change is owed) or the end
 * of the run (`complete` true: every expected seq is owed). `expected` is ascending.
 */
export function checkDelivery(received: readonly number[], expected: readonly number[], complete: boolean, label = 'subscription'): Findings {
  const f = noFindings();
  const note = (text: string) => (f.first ??= `${label}: ${text}`);
  const want = new Set(expected);
  const seen = new Set<number>();
  for (let i = 0; i < received.length; i++) {
    const s = received[i]!;
    if (seen.has(s)) {
      f.duplicated++;
      note(`seq ${s} received again`);
    } else if (!want.has(s)) {
      f.unexpected++;
      note(`seq ${s} received but not expected`);
    }
    if (i > 0 && s < received[i - 1]!) {
      f.outOfOrder++;
      note(`seq ${s} received after seq ${received[i - 1]}`);
    }
    seen.add(s);
  }
  const upTo = complete ? Number.POSITIVE_INFINITY : Math.max(0, ...received);
  for (const s of expected) {
    if (s > upTo) break;
    if (!seen.has(s)) {
      f.lost++;
      note(`seq ${s} never received${complete ? '' : ` (before ${upTo})`}`);
    }
  }
  return f;
}

export interface CacheDiff {
  missing: number;
  extra: number;
  differing: number;
  first: string | null;
}

/** A cache (rows by id) against a fresh read of the same list. Key order does not matter. */
export function compareCache(cache: readonly Record<string, unknown>[], fresh: readonly Record<string, unknown>[], label = 'cache'): CacheDiff {
  const d: CacheDiff = { missing: 0, extra: 0, differing: 0, first: null };
  const byId = new Map(cache.map((r) => [String(r.id), r]));
  for (const row of fresh) {
    const id = String(row.id);
    const mine = byId.get(id);
    byId.delete(id);
    if (!mine) {
      d.missing++;
      d.first ??= `${label}: row ${id} is in the database but not in the cache`;
    } else if (canonical(mine) !== canonical(row)) {
      d.differing++;
      d.first ??= `${label}: row ${id} differs: cache ${canonical(mine)} database ${canonical(row)}`;
    }
  }
  for (const id of byId.keys()) {
    d.extra++;
    d.first ??= `${label}: row ${id} is in the cache but not in the database`;
  }
  return d;
}

export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

export interface OutboxFacts {
  rows: number;
  stamped: number;
  distinct: number;
  min: number | null;
  max: number | null;
}

/** Every outbox row stamped once, the seqs exactly 1..N. */
export function checkOutbox(o: OutboxFacts): string[] {
  const problems: string[] = [];
  if (o.stamped !== o.rows) problems.push(`${o.rows - o.stamped} outbox rows were never stamped`);
  if (o.distinct !== o.stamped) problems.push(`${o.stamped - o.distinct} seqs were given twice`);
  if (o.stamped > 0 && (o.min !== 1 || o.max !== o.stamped)) problems.push(`seqs run ${o.min}..${o.max} over ${o.stamped} rows: not 1..${o.stamped}`);
  return problems;
}
