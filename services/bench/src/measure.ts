// The gateway-side measurements, shared by our gateway's bench and the baseline's: both
// servers speak protocol v2 (subscribe, batched `changes`), so one client code measures both.
// Every figure is taken against a server already listening on `port`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, WS_PATH, unbatch, type ClientToServerEvents, type ServerToClientEvents, type SubscribeRequest } from '@realtime/protocol';
import { fmt, latencyMs, median, out, wallClockMs } from './stats';
import type { ClientsPlan, ClientsSummary } from './clients';
import type { ReplayPlan, ReplayResult } from './replay-client';
import type { Latency } from './scenarios';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

async function connect(port: number, token: string): Promise<Client> {
  const socket: Client = io(`http://127.0.0.1:${port}`, { path: WS_PATH, transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err: Error & { data?: { code?: string } }) =>
      reject(err.data?.code === 'PROTOCOL_VERSION' ? new Error(`the server refused protocol v${PROTOCOL_VERSION}: ${err.message}`) : err),
    );
  });
  return socket;
}

async function subscribe(socket: Client, req: SubscribeRequest): Promise<number> {
  const ack = await socket.emitWithAck('subscribe', req);
  if (!ack.ok) throw new Error(`subscribe to ${req.channel} refused: ${ack.error.code} ${ack.error.message}`);
  return ack.headSeq;
}

async function newProject(writer: pg.Client, name: string): Promise<string> {
  const { rows } = await writer.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name]);
  return rows[0]!.id;
}

/**
 * Changes per second replayed to one client subscribing with since = 0. The client runs
 * in a process of its own (replay-client.ts), as the live benchmark's clients do: in the
 * server's process, parsing the pages would take turns with sending them.
 */
export async function replayRate(port: number, token: string, expected: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'replay-client.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const plan: ReplayPlan = { port, token, channel: 'projects' };
  child.stdin.end(JSON.stringify(plan));
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const code = await exited;
  clearTimeout(timer);
  const line = text.trim().split('\n').at(-1) ?? '';
  if (line.startsWith('error ')) throw new Error(`the replay client: ${line.slice(6)}`);
  if (code !== 0) throw new Error(`the replay client exited with ${code}: ${text.slice(0, 200)}`);
  const result = JSON.parse(line) as ReplayResult;
  if (result.changes !== expected) throw new Error(`replay delivered ${result.changes} changes, expected ${expected}`);
  return expected / result.seconds;
}

/** A scenario's load as the clients process runs it, and which project the writer writes to. */
export interface Load {
  plan: Omit<ClientsPlan, 'port' | 'token'>;
  /** Changes per second, in one transaction every 10 ms. */
  rate: number;
  /** The project written to; a new one when absent. */
  project?: string;
  /** Subscriptions whose deliveries are timed. */
  measured: number;
}

/** The benchmark clients (clients.ts) in a process of their own, subscribed and measuring. */
export interface ClientsProcess {
  /** The deliveries since the last window (or the start), starting afresh. */
  window(): Promise<ClientsSummary>;
  /** Ends the clients: the deliveries since the last window. */
  stop(): Promise<ClientsSummary>;
  kill(): void;
}

/** Starts the clients of `plan` and resolves once every subscription is acknowledged. */
export async function startClients(plan: ClientsPlan): Promise<ClientsProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'clients.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let outText = '';
  let summaries = 0;
  child.stdout.on('data', (d: Buffer) => (outText += d.toString()));
  const ended = new Promise<void>((resolve) => child.stdout.on('end', () => resolve()));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  child.stdin.end(JSON.stringify(plan));
  const lines = () => outText.split('\n').filter((l) => l.startsWith('{'));
  // The next summary the process prints, as a signal asks for it.
  const next = async (signal: NodeJS.Signals): Promise<ClientsSummary> => {
    const want = ++summaries;
    child.kill(signal);
    for (let i = 0; lines().length < want; i++) {
      if (child.exitCode !== null || i > 300) throw new Error(`the benchmark clients printed no summary (${signal}): ${outText.slice(-200)}`);
      await sleep(100);
    }
    return JSON.parse(lines()[want - 1]!) as ClientsSummary;
  };
  try {
    for (let i = 0; !outText.includes('ready'); i++) {
      const error = outText.split('\n').find((l) => l.startsWith('error '));
      if (error) throw new Error(`benchmark clients: ${error.slice(6)}`);
      if (i > 1200) throw new Error(`the benchmark clients did not all subscribe within 120 s: ${outText.slice(0, 200)}`);
      if (child.exitCode !== null) throw new Error(`the benchmark clients exited with ${child.exitCode}`);
      await sleep(100);
    }
  } catch (err) {
    kill();
    throw err;
  }
  return {
    window: () => next('SIGUSR2'),
    async stop() {
      try {
        const last = await next('SIGTERM');
        await ended;
        return last;
      } finally {
        kill();
      }
    },
    kill,
  };
}

/** A writer inserting jobs into one project at a steady rate, in one transaction every 10 ms (or one change a tick, under 100 a second). */
export interface SteadyWriter {
  /** Stops after the tick under way; resolves with the changes written. */
  stop(): Promise<number>;
}

export async function steadyWriter(url: string, project: string, rate: number): Promise<SteadyWriter> {
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  const perTick = Math.max(1, Math.round(rate / 100));
  const tickMs = rate >= 100 ? 10 : 1000 / rate;
  let written = 0;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const tick = Date.now();
      await writer.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'bench.pdf' FROM generate_series(1, $2::int)`, [project, perTick]);
      written += perTick;
      await sleep(Math.max(0, tickMs - (Date.now() - tick)));
    }
  })();
  return {
    async stop() {
      stopping = true;
      try {
        await loop;
      } finally {
        await writer.end();
      }
      return written;
    },
  };
}

/** A clients summary as the live figures take it: delivered is per change written and measured subscription. */
export function latencyOf(r: ClientsSummary, written: number, measured: number): Latency {
  const n = (x: number | null) => x ?? Number.NaN;
  return { p50: n(r.p50), p95: n(r.p95), p99: n(r.p99), delivered: r.count / Math.max(1, written * measured), stray: r.stray };
}

/** Commit-to-client latency of one load against the server on `port` (or the `ports` of the plan), over `seconds` of writes. */
export async function liveLatency(url: string, port: number, token: string, load: Load, seconds: number): Promise<Latency> {
  const clients = await startClients({ port, token, ...load.plan });
  try {
    const project = load.project ?? (await newProjectAt(url, 'latency'));
    const writer = await steadyWriter(url, project, load.rate);
    await sleep(seconds * 1000);
    const written = await writer.stop();
    // What is still on its way lands before the clients stop counting.
    await sleep(1500);
    return latencyOf(await clients.stop(), written, load.measured);
  } finally {
    clients.kill();
  }
}

async function newProjectAt(url: string, name: string): Promise<string> {
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  try {
    return await newProject(writer, name);
  } finally {
    await writer.end();
  }
}

export interface Loss {
  written: number;
  missed: number;
  duplicated: number;
}

/**
 * One client that drops its connection for `awayMs` while a writer inserts at a steady
 * rate, then reconnects and subscribes again with since = the last seq it saw, as the
 * web hook does. Counts the inserted rows it never received, and the ones it got twice.
 */
export async function reconnectLoss(url: string, port: number, token: string, rate = 200, awayMs = 1000): Promise<Loss> {
  const socket = await connect(port, token);
  const seen = new Map<string, number>();
  let lastSeq: number | null = null;
  // The fingerprint of the change at lastSeq, sent with it (protocol 3), as the web client does.
  let lastFp: string | undefined;
  socket.on('changes', (batch) => {
    for (const e of unbatch(batch)) {
      const id = e.row?.id;
      if (e.op === 'INSERT' && typeof id === 'string') seen.set(id, (seen.get(id) ?? 0) + 1);
      if (e.seq > (lastSeq ?? 0)) {
        lastSeq = e.seq;
        lastFp = e.fp;
      }
    }
  });
  const resubscribe = async () => {
    const head = await subscribe(socket, lastSeq === null ? { channel: 'extraction_jobs' } : { channel: 'extraction_jobs', since: lastSeq, ...(lastFp ? { fp: lastFp } : {}) });
    if (head > (lastSeq ?? 0)) {
      lastSeq = head;
      lastFp = undefined;
    }
  };
  await resubscribe();
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  const project = await newProject(writer, 'reconnect');
  const ids: string[] = [];
  const perTick = Math.max(1, Math.round(rate / 100));
  const started = Date.now();
  const total = awayMs * 3;
  let away: 'before' | 'away' | 'back' = 'before';
  while (Date.now() - started < total) {
    const tick = Date.now();
    const { rows } = await writer.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'away.pdf' FROM generate_series(1, $2::int) RETURNING id`, [project, perTick]);
    ids.push(...rows.map((r) => r.id));
    if (away === 'before' && tick - started >= awayMs) {
      away = 'away';
      socket.disconnect();
    } else if (away === 'away' && tick - started >= 2 * awayMs) {
      away = 'back';
      socket.connect();
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      await resubscribe();
    }
    await sleep(Math.max(0, 10 - (Date.now() - tick)));
  }
  await writer.end();
  for (let i = 0; i < 30 && ids.some((id) => !seen.has(id)); i++) await sleep(100);
  socket.disconnect();
  const missed = ids.filter((id) => !seen.has(id)).length;
  const duplicated = [...seen.values()].reduce((n, c) => n + c - 1, 0);
  return { written: ids.length, missed, duplicated };
}

export interface Oversize {
  committed: boolean;
  delivered: boolean;
  /** Commit to client, when delivered. */
  ms: number | null;
  error: string | null;
}

/** Inserts one row whose description alone is `bytes` long, and waits for it to stream. */
export async function oversizeRow(url: string, port: number, token: string, bytes = 9000): Promise<Oversize> {
  const socket = await connect(port, token);
  const arrived = new Map<string, { size: number; ms: number }>();
  socket.on('changes', (batch) => {
    for (const e of batch.changes) {
      if (typeof e.row?.id === 'string') arrived.set(e.row.id, { size: JSON.stringify(e.row).length, ms: latencyMs(e.committedAt, wallClockMs()) });
    }
  });
  await subscribe(socket, { channel: 'projects' });
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  try {
    let id: string;
    try {
      const { rows } = await writer.query<{ id: string }>(`INSERT INTO projects (name, description) VALUES ('oversize', repeat('x', $1::int)) RETURNING id`, [bytes]);
      id = rows[0]!.id;
    } catch (err) {
      return { committed: false, delivered: false, ms: null, error: err instanceof Error ? err.message : String(err) };
    }
    for (let i = 0; i < 50 && !arrived.has(id); i++) await sleep(100);
    const got = arrived.get(id);
    if (!got || got.size < bytes) return { committed: true, delivered: false, ms: null, error: null };
    return { committed: true, delivered: true, ms: got.ms, error: null };
  } finally {
    await writer.end();
    socket.disconnect();
  }
}

/** Median of the missed and duplicated counts over `rounds` runs, printing each run. */
export async function lossRounds(url: string, port: number, token: string, rounds: number): Promise<Loss> {
  const runs: Loss[] = [];
  for (let r = 1; r <= rounds; r++) {
    const l = await reconnectLoss(url, port, token);
    runs.push(l);
    out(`  client away ~1 s, round ${r}/${rounds}: ${fmt(l.written)} inserts, ${fmt(l.missed)} never received, ${fmt(l.duplicated)} received twice`);
  }
  return { written: median(runs.map((l) => l.written)), missed: median(runs.map((l) => l.missed)), duplicated: median(runs.map((l) => l.duplicated)) };
}
