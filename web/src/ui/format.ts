// Small display helpers: durations and relative times.
export function duration(startedAt: unknown, finishedAt: unknown, now: number): string {
  if (typeof startedAt !== 'string') return '—';
  const end = typeof finishedAt === 'string' ? Date.parse(finishedAt) : now;
  const s = Math.max(0, Math.round((end - Date.parse(startedAt)) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

export function ago(iso: unknown, now: number): string {
  if (typeof iso !== 'string') return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(iso).toLocaleDateString();
}

/** How old data last known current at `at` (ms since the epoch) is: "just now", "40s ago", "2m ago". */
export function age(at: number, now: number): string {
  return now - at < 5000 ? 'just now' : ago(new Date(at).toISOString(), now);
}

const counts = new Intl.NumberFormat('en-US');

/** A count as people read it: 5008 is "5,008". */
export const formatCount = (n: number): string => counts.format(n);

/** "1 job", "5,008 jobs". */
export const countOf = (n: number, one: string, many = `${one}s`): string => `${formatCount(n)} ${n === 1 ? one : many}`;
