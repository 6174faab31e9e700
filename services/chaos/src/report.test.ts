import { expect, test } from 'vitest';
import { sumBySource } from './report';

const a = `# HELP realtime_feed_changes_total Changes handed on by the live feed
# TYPE realtime_feed_changes_total counter
realtime_feed_changes_total{source="log"} 120
realtime_feed_changes_total{source="postgres"} 7
realtime_replay_source_total{source="redis"} 3
realtime_feed_changes_total_created{source="log"} 1700000000`;
const b = `realtime_feed_changes_total{source="log"} 30
realtime_feed_changes_total{instance="g2",source="postgres"} 1`;

test.each([
  { what: 'summed over processes, by source', texts: [a, b], metric: 'realtime_feed_changes_total', want: { log: 150, postgres: 8 } },
  { what: 'a process that did not answer counts nothing', texts: [a, null], metric: 'realtime_feed_changes_total', want: { log: 120, postgres: 7 } },
  { what: 'another metric of the same text', texts: [a, b], metric: 'realtime_replay_source_total', want: { redis: 3 } },
  { what: 'a metric nobody reports', texts: [a], metric: 'realtime_nothing_total', want: {} },
])('sumBySource: $what', ({ texts, metric, want }) => {
  expect(sumBySource(texts, metric)).toEqual(want);
});
