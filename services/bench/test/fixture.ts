// One full run's results, made up for the report and plot tests: every figure distinct,
// so that a test can tell which one a table row or a bar shows.
import type { Results } from '../src/report';
import type { Latency } from '../src/scenarios';

const l = (p50: number, p95: number, p99: number, delivered = 1, stray = 0): Latency => ({ p50, p95, p99, delivered, stray });

export const RESULTS: Results = {
  writes: { plain: 12_000, outbox: 9_000, outboxNotify: 5_000, naive: 4_000, naiveListener: 3_990, rounds: 3, postgres: '18.0' },
  replicator: { ceiling: 100_000, ours: 30_000, latency: { p50: 8, p95: 9, p99: 11 }, rounds: 3 },
  gateway: { loss: { written: 580, missed: 0, duplicated: 0 }, oversize: { committed: true, delivered: true, ms: 6, error: null }, rounds: 3 },
  baseline: { loss: { written: 578, missed: 192, duplicated: 0 }, oversize: { committed: false, delivered: false, ms: null, error: 'payload string too long' }, rounds: 3 },
  live: {
    rounds: 3,
    seconds: 5,
    loadAtStart: [0.4, 0.5, 0.6],
    cores: 2,
    scenarios: {
      'clients-100': { label: '100 clients × 1,000 changes/s', subscriptions: 100, rate: 1000, ours: l(4, 9, 30), naive: l(9, 16, 49) },
      'clients-1000': { label: '1,000 clients × 100 changes/s', subscriptions: 1000, rate: 100, ours: l(40, 70, 90), naive: l(31, 67, 91, 0.98) },
      'fanout-100': { label: 'f100', subscriptions: 100, rate: 1000, ours: l(3, 5, 12), naive: l(6, 14, 20) },
      'fanout-10000': { label: 'f10000', subscriptions: 10_000, rate: 1000, ours: l(3, 6, 15), naive: l(80, 300, 600, 0.9) },
    },
    replay: { rows: 200_000, ours: 120_000, naive: null },
  },
};
