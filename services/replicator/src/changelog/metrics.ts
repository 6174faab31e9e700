// Prometheus metrics of the change log appender (prom-client, default registry).
import client from 'prom-client';

export const appendedTotal = new client.Counter({ name: 'realtime_changelog_appended_total', help: 'Changes appended to the change log (from stamped batches and from the outbox).' });
export const gapFillsTotal = new client.Counter({ name: 'realtime_changelog_gap_fills_total', help: 'Runs of changes read from the outbox to fill the change log up to a batch or the head.' });
export const epochsOpenedTotal = new client.Counter({ name: 'realtime_changelog_epochs_opened_total', help: 'New change log histories opened (no current one, or the database holds another history).' });
export const appendErrorsTotal = new client.Counter({ name: 'realtime_changelog_append_errors_total', help: 'Failed change log operations (Redis away or too slow, or the outbox unreadable); the log is refilled from the outbox.' });
export const lagGauge = new client.Gauge({ name: 'realtime_changelog_lag', help: 'Seqs the change log trails the outbox head by.' });
