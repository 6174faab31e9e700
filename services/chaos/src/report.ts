// The run's printed lines that are pure formatting: numbers, the queue clients' progress
// and their line of the summary.
import type { QueueFindings } from './queue-check';
import type { QueueWriters } from './queue-writers';

export const fmt = (n: number) => n.toLocaleString('en-US');

/** How far the queue clients are, for the progress lines. */
export function queueProgress(q: QueueWriters): string {
  const w = q.intended();
  const pending = w.filter((x) => x.outcome === 'pending').length;
  return `${fmt(w.length)} queued writes (${fmt(pending)} pending)`;
}

/** The queue clients' line of the summary. */
export function queueSummary(f: QueueFindings, q: QueueWriters): string {
  const st = q.stats;
  const refusals = Object.entries(f.refusals)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([why, n]) => `${why === 'dropped' ? 'theirs taken in a conflict' : why}: ${n}`)
    .join(', ');
  return (
    `queue writes: ${st.clients} clients, intended ${fmt(f.intended)} (${f.byKind.create} creates, ${f.byKind.update} updates, ${f.byKind.delete} deletes), applied once ${fmt(f.appliedOnce)}, twice ${f.twice}, lost ${f.lost}, ` +
    `refused ${f.refused}${refusals ? ` (${refusals})` : ''} and applied anyway ${f.refusedApplied}, unsettled ${f.unsettled}, unintended ${f.unintended}, txid differing ${f.txidDiffering}; ` +
    `network: ${fmt(st.requests)} requests, ${st.failedBeforeSending} failed before sending, ${st.lostResponses} answers lost, ${st.delayed} delayed, ${st.disconnects} disconnects (${st.offline} requests failed offline), ${st.restarts} reloads; ` +
    `${st.retries} retries, ${st.conflicts} conflicts (${st.keptMine} kept mine, ${st.tookTheirs} took theirs), ${st.rebased} rebased, ${st.unauthorized} unauthorized; ` +
    `confirmed by the stream ${st.confirmed.stream}, by a list ${st.confirmed.refetch}, by the answer ${st.confirmed.response}`
  );
}

/**
 * One counter of Prometheus text, summed by its `source` label over several processes'
 * /metrics (a process that did not answer counts nothing).
 */
export function sumBySource(texts: readonly (string | null)[], metric: string): Record<string, number> {
  const sums: Record<string, number> = {};
  const line = new RegExp(`^${metric}\\{(?:[^}]*,)?source="([^"]+)"[^}]*\\} ([0-9.e+]+)$`);
  for (const text of texts)
    for (const l of (text ?? '').split('\n')) {
      const m = line.exec(l.trim());
      if (m) sums[m[1]!] = (sums[m[1]!] ?? 0) + Number(m[2]);
    }
  return sums;
}
