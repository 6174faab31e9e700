// Prometheus metrics of the replicator (prom-client, default registry): what was stamped,
// how long after commit, the mode. The database's gauges (backlog, slot lag, head) are
// @realtime/db's registerDatabaseGauges, read at scrape time by any process.
import client from 'prom-client';

export const stampedTotal = new client.Counter({ name: 'realtime_changes_stamped_total', help: 'Outbox rows stamped with a seq.' });
export const earlyTotal = new client.Counter({
  name: 'realtime_changes_early_total',
  help: 'Changes that went out numbered from the WAL before their stamp statement ran (also in realtime_changes_stamped_total).',
});
export const stampLatency = new client.Histogram({
  name: 'realtime_stamp_latency_seconds',
  help: 'From commit to stamp.',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});
export const replicatorMode = new client.Gauge({ name: 'realtime_replicator_mode', help: 'The mode of this replicator: 1 for the current one.', labelNames: ['mode'] });
export const replicatorErrors = new client.Counter({ name: 'realtime_errors_total', help: 'Errors, by component.', labelNames: ['component'] });

export function setMode(mode: 'wal' | 'notify' | 'down'): void {
  for (const m of ['wal', 'notify', 'down']) replicatorMode.set({ mode: m }, m === mode ? 1 : 0);
}
