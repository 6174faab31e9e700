// Benchmark clients in a process of their own (so that their CPU is not the server's):
// socket.io-client connections speaking protocol v2, each with its subscriptions, taking
// for every change a measured subscription receives the time from its commit to its
// arrival. The plan comes as one JSON line on stdin (ClientsPlan); prints `ready`, then
// one JSON line (ClientsSummary) when told to stop (SIGTERM), and one of the deliveries so
// far on SIGUSR2, starting afresh (a window of a run: before a storm, during it).
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, WS_PATH, type ChangesEvent, type Filter } from '@realtime/protocol';
import { latencyMs, percentile, wallClockMs } from './stats';

export interface ClientsPlan {
  port: number;
  /** Several gateways: the sockets spread over them in turn (`port` when absent). */
  ports?: number[];
  token: string;
  channel: string;
  /** Per socket, its subscriptions: a filter (or none) and whether its deliveries are timed. */
  sockets: { filter?: Filter; measured: boolean }[][];
}

export interface ClientsSummary {
  connected: number;
  subscribed: number;
  /** Changes the measured subscriptions received. */
  count: number;
  /** Changes the other subscriptions received: with filters, none should. */
  stray: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

async function readPlan(): Promise<ClientsPlan> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return JSON.parse(text) as ClientsPlan;
}

const fail = (message: string): never => {
  process.stdout.write(`error ${message}\n`, () => process.exit(1));
  throw new Error(message);
};

const plan = await readPlan();
const wanted = plan.sockets.reduce((n, subs) => n + subs.length, 0);
let latencies: number[] = [];
let stray = 0;
let connected = 0;
let subscribed = 0;

const sockets: Socket[] = plan.sockets.map((subs, i) => {
  const port = plan.ports?.length ? plan.ports[i % plan.ports.length]! : plan.port;
  const s = io(`http://127.0.0.1:${port}`, { path: WS_PATH, transports: ['websocket'], auth: { token: plan.token, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
  // Subscription ids this socket times; ids are per socket (the naive server reuses the channel's name).
  const measured = new Set<string>();
  s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
    fail(err.data?.code === 'PROTOCOL_VERSION' ? `the server refused protocol v${PROTOCOL_VERSION} (${err.message}): it speaks another version` : `connect failed: ${err.message}`);
  });
  s.on('connect', () => {
    connected++;
    for (const sub of subs) {
      s.emit('subscribe', { channel: plan.channel, ...(sub.filter ? { filter: sub.filter } : {}) }, (ack: { ok: boolean; id?: string; error?: { code: string; message: string } }) => {
        if (!ack.ok) fail(`subscribe refused: ${ack.error?.code} ${ack.error?.message}`);
        if (sub.measured) measured.add(ack.id!);
        if (++subscribed === wanted) process.stdout.write('ready\n');
      });
    }
  });
  s.on('changes', (e: ChangesEvent) => {
    if (!measured.has(e.sub)) {
      stray += e.changes.length;
      return;
    }
    const now = wallClockMs();
    for (const c of e.changes) latencies.push(latencyMs(c.committedAt, now));
  });
  return s;
});

function summary(): ClientsSummary {
  const sorted = latencies.sort((a, b) => a - b);
  const p = (q: number) => (sorted.length ? percentile(sorted, q) : null);
  return { connected, subscribed, count: sorted.length, stray, p50: p(50), p95: p(95), p99: p(99), max: sorted.at(-1) ?? null };
}

process.on('SIGUSR2', () => {
  const window = summary();
  latencies = [];
  stray = 0;
  process.stdout.write(`${JSON.stringify(window)}\n`);
});

process.on('SIGTERM', () => {
  for (const s of sockets) s.disconnect();
  process.stdout.write(`${JSON.stringify(summary())}\n`, () => process.exit(0));
});
