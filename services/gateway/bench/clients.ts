// Benchmark clients in a process of their own (so that their CPU is not the gateway's):
// N socket.io-client connections, one subscription each, recording for every change the
// time from its commit to its arrival. Prints one JSON line when told to stop (SIGTERM).
import { io } from 'socket.io-client';

const [port, token, countText, channel] = process.argv.slice(2);
const count = Number(countText);
const latencies: number[] = [];
let connected = 0;
let subscribed = 0;
const sockets = Array.from({ length: count }, () => {
  const s = io(`http://127.0.0.1:${port}`, { path: '/ws', transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  s.on('connect', () => {
    connected++;
    s.emit('subscribe', { channel }, (ack: { ok: boolean }) => {
      if (ack.ok) subscribed++;
      if (subscribed === count) process.stdout.write('ready\n');
    });
  });
  s.on('change', (e: { committedAt: string }) => {
    latencies.push(Date.now() - Date.parse(e.committedAt));
  });
  return s;
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? -1;

process.on('SIGTERM', () => {
  for (const s of sockets) s.disconnect();
  const sorted = latencies.sort((a, b) => a - b);
  const summary = { connected, subscribed, count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? -1 };
  process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(0));
});
