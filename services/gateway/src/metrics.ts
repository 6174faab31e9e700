// Prometheus metrics of the gateway: sockets and subscriptions (read at scrape time),
// replays (running and waiting) and where their pages came from, resyncs, refused messages, bounds reached, and delivery latency (commit to socket, and from
// the feed to the socket).
import client from 'prom-client';

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
export const deliveryLatency = new client.Histogram({ name: 'realtime_delivery_latency_seconds', help: 'From commit to the socket, one observation per live message (its oldest change).', buckets });
export const fanoutLatency = new client.Histogram({ name: 'realtime_fanout_latency_seconds', help: 'From the stamped change reaching this gateway to the socket, one observation per live message (its oldest change).', buckets });
export const replaysTotal = new client.Counter({ name: 'realtime_replays_total', help: 'Subscriptions that replayed from a since or cursor.' });
export const replaySourceTotal = new client.Counter({
  name: 'realtime_replay_source_total',
  help: 'Replay pages by where they were read (ring: the recent feed batches in this process; redis: the shared change log; postgres: the outbox).',
  labelNames: ['source'],
});
export const resyncsTotal = new client.Counter({ name: 'realtime_resyncs_total', help: 'resync events sent, by reason.', labelNames: ['reason'] });
export const badMessagesTotal = new client.Counter({ name: 'realtime_refused_messages_total', help: 'Client messages answered with an error.', labelNames: ['code'] });
export const changesSent = new client.Counter({ name: 'realtime_changes_sent_total', help: 'Changes sent to subscriptions (inside batches).' });
export const batchesSent = new client.Counter({ name: 'realtime_batches_sent_total', help: 'Live `changes` messages sent: one per subscription per feed batch.' });
export const limitHits = new client.Counter({
  name: 'realtime_limit_hits_total',
  help: 'Clients that reached a bound, by bound: socket_queue_bytes, slow_socket_closed, sockets_per_user, subscriptions_per_socket, subscribes_per_second, replays_per_user, origin (limits/notes.ts names the variable of each).',
  labelNames: ['limit'],
});

let registered = false;
export function registerGatewayGauges(stats: () => { sockets: number; subscriptions: number; replaysRunning: number; replaysWaiting: number }): void {
  if (registered) return;
  registered = true;
  new client.Gauge({ name: 'realtime_connected_sockets', help: 'Connected Socket.IO clients.', collect() { this.set(stats().sockets); } });
  new client.Gauge({ name: 'realtime_subscriptions', help: 'Open subscriptions.', collect() { this.set(stats().subscriptions); } });
  new client.Gauge({ name: 'realtime_replays_running', help: 'Replays reading pages now (at most MAX_CONCURRENT_REPLAYS).', collect() { this.set(stats().replaysRunning); } });
  new client.Gauge({ name: 'realtime_replays_waiting', help: 'Replays waiting for their turn.', collect() { this.set(stats().replaysWaiting); } });
}
