// The process's Prometheus registry (prom-client's default one): every part registers its
// metrics there, /metrics serves them, and a worker thread's registry is merged in.
import client from 'prom-client';

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

/** Requests and connections refused for a bound: who hits the limits, by which limit. */
export const httpLimited = new client.Counter({
  name: 'realtime_http_limited_total',
  help: 'HTTP requests refused or connections closed at a bound (sign_in_email, sign_in_ip, writes, body_size, timeout, header_size).',
  labelNames: ['limit'],
});
