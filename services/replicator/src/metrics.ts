// Prometheus metrics of the replicator (prom-client, default registry): what was stamped,
// how long after commit, the mode, and, read from the database at scrape time, the
// unstamped backlog and the slot's lag.
import client from 'prom-client';
import type pg from 'pg';
import { HEAD_SQL } from '@realtime/db';

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

/** Requests and connections refused for a bound: who hits the limits, by which limit. */
export const httpLimited = new client.Counter({
  name: 'realtime_http_limited_total',
  help: 'HTTP requests refused or connections closed at a bound (sign_in_email, sign_in_ip, writes, body_size, timeout, header_size).',
  labelNames: ['limit'],
});

export function setMode(mode: 'wal' | 'notify' | 'down'): void {
  for (const m of ['wal', 'notify', 'down']) replicatorMode.set({ mode: m }, m === mode ? 1 : 0);
}

let dbGauges = false;
/** Gauges read from the database at each scrape (once per process). */
export function registerDatabaseGauges(pool: pg.Pool): void {
  if (dbGauges) return;
  dbGauges = true;
  new client.Gauge({
    name: 'realtime_unstamped_backlog',
    help: 'Outbox rows not stamped yet.',
    async collect() {
      const { rows } = await pool.query(`SELECT count(*)::bigint AS n FROM change_outbox WHERE seq IS NULL`);
      this.set(Number(rows[0].n));
    },
  });
  new client.Gauge({
    name: 'realtime_slot_lag_bytes',
    help: 'WAL the replication slot holds behind the server position (absent without a slot).',
    async collect() {
      const { rows } = await pool.query(`SELECT slot_lag_bytes FROM realtime_status`);
      if (rows[0]?.slot_lag_bytes !== null && rows[0]?.slot_lag_bytes !== undefined) this.set(Number(rows[0].slot_lag_bytes));
    },
  });
  new client.Gauge({
    name: 'realtime_head_seq',
    help: 'The highest seq stamped.',
    async collect() {
      const { rows } = await pool.query(`SELECT ${HEAD_SQL} AS h`);
      this.set(Number(rows[0].h));
    },
  });
}

export const metricsRegistry = client.register;

/** A registry's metrics as data (`getMetricsAsJSON`), what a worker thread sends. */
export type MetricsJson = client.MetricObjectWithValues<client.MetricValue<string>>[];

/**
 * This thread's metrics in Prometheus text, with those of other registries (a worker
 * thread's) merged in: one HELP and TYPE per name, values with the same labels added up
 * (a metric both define, like the HTTP limit counter, counts in both).
 */
export async function metricsText(others: MetricsJson[] = []): Promise<string> {
  if (others.length === 0) return metricsRegistry.metrics();
  return client.AggregatorRegistry.aggregate([await metricsRegistry.getMetricsAsJSON(), ...others]).metrics();
}
