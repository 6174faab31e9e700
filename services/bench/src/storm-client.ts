// Reconnect-storm clients in a process of their own (scale.ts runs one or two, so that
// their CPU is not the gateways'): sockets with one subscription per project each, every
// subscription keeping the position of the last change it received (seq and fingerprint),
// as the web client does. Commands come as JSON lines on stdin (StormCommand); it prints
// `ready` once subscribed, `primed` once every subscription holds a position, and after
// `resume`, one JSON line (StormResult) once every subscription is live again or gave up.
// SIGTERM ends it, sockets and all.
import readline from 'node:readline';
import { io, type Socket } from 'socket.io-client';
import type { StormResult } from './scale-figures';
import { PROTOCOL_VERSION, WS_PATH, type ClientToServerEvents, type ServerToClientEvents, type SubscribeAck } from '@realtime/protocol';

export interface StormPlan {
  port: number;
  token: string;
  channel: string;
  /** Each socket subscribes once per project, filtered to it. */
  projects: string[];
  sockets: number;
}

/**
 * `resume`: every socket anew on `port`; after `limitMs` the result says how far it got.
 * `drop`: every socket closed, keeping the positions (the gateway going away, for a resume
 * on the same one); prints `dropped`.
 */
export type StormCommand = { start: StormPlan } | { resume: { port: number; limitMs: number } } | { drop: true };

export type { StormResult };

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Sub {
  project: string;
  seq: number;
  fp: string | undefined;
  /** The id the current gateway gave it. */
  id: string | null;
  replayed: number;
  state: 'subscribing' | 'live' | 'resynced' | 'refused';
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string): never => {
  process.stdout.write(`error ${message}\n`, () => process.exit(1));
  throw new Error(message);
};

let plan: StormPlan | null = null;
let sockets: { socket: Client; subs: Sub[] }[] = [];
let acked = 0;
/** Subscriptions that have received no change yet. */
let unprimed = 0;
let resumeStarted = 0;
/** Subscriptions of the resume still subscribing: a count, since looking at 25,000 on every answer costs seconds. */
let waiting = 0;
const why: Record<string, number> = {};
/** Connections tried again after a refusal or reset. */
let retries = 0;
const note = (reason: string, n: number) => (why[reason] = (why[reason] ?? 0) + n);
let reported = false;

/** A socket to `port`; `onError`: a refused or timed-out connection (`timeoutMs`, socket.io's default 20 s otherwise). */
function open(port: number, token: string, onError: (err: Error) => void, timeoutMs?: number): Client {
  const socket: Client = io(`http://127.0.0.1:${port}`, { path: WS_PATH, transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true, ...(timeoutMs ? { timeout: timeoutMs } : {}) });
  socket.on('connect_error', onError);
  return socket;
}

/** Routes a socket's events to its subscriptions by the ids the gateway gave them. */
function attach(socket: Client, subs: Sub[]): void {
  const byId = (id: string) => subs.find((s) => s.id === id);
  socket.on('changes', (e) => {
    const sub = byId(e.sub);
    if (!sub) return;
    for (const c of e.changes) {
      if (c.seq <= sub.seq) continue;
      if (sub.seq === 0 && --unprimed === 0) say('primed');
      sub.seq = c.seq;
      sub.fp = c.fp;
      if (sub.state === 'subscribing') sub.replayed++;
    }
  });
  socket.on('live', (e) => {
    const sub = byId(e.sub);
    if (sub && sub.state === 'subscribing') {
      sub.state = 'live';
      settled();
    }
  });
  socket.on('resync', (e) => {
    const sub = byId(e.sub);
    if (sub && sub.state === 'subscribing') {
      sub.state = 'resynced';
      settled();
    }
  });
}

function subscribe(socket: Client, sub: Sub, channel: string, onAck: () => void): void {
  const resume = sub.seq > 0 ? { since: sub.seq, ...(sub.fp ? { fp: sub.fp } : {}) } : {};
  socket.emit('subscribe', { channel, filter: { projectId: sub.project }, ...resume }, (ack: SubscribeAck) => {
    if (!ack.ok) {
      const was = sub.state;
      sub.state = 'refused';
      note(ack.error.code, 1);
      if (resumeStarted === 0) fail(`subscribe refused: ${ack.error.code} ${ack.error.message}`);
      if (was === 'subscribing') settled();
    } else sub.id = ack.id;
    onAck();
  });
}

function start(p: StormPlan): void {
  plan = p;
  const wanted = p.sockets * p.projects.length;
  unprimed = wanted;
  sockets = Array.from({ length: p.sockets }, () => {
    const socket = open(p.port, p.token, (err) => fail(`connect to port ${p.port} failed: ${err.message}`));
    const subs: Sub[] = p.projects.map((project) => ({ project, seq: 0, fp: undefined, id: null, replayed: 0, state: 'subscribing' }));
    attach(socket, subs);
    socket.on('connect', () => {
      for (const sub of subs) subscribe(socket, sub, p.channel, () => ++acked === wanted && say('ready'));
    });
    return { socket, subs };
  });
}

/** Every socket anew on `port`, every subscription from its position, all at once. */
function resume(port: number, limitMs: number): void {
  const p = plan ?? fail('resume before start');
  resumeStarted = Date.now();
  waiting = sockets.reduce((n, s) => n + s.subs.length, 0);
  setTimeout(() => report(), limitMs).unref();
  sockets = sockets.map((entry) => {
    entry.socket.removeAllListeners();
    entry.socket.disconnect();
    for (const sub of entry.subs) {
      sub.id = null;
      sub.replayed = 0;
      sub.state = 'subscribing';
    }
    reconnect(entry, port, p, limitMs);
    return entry;
  });
}

/**
 * One socket of the storm to `port`. A connection refused or reset (a listen backlog full
 * of the storm's other sockets) is tried again after a pause, as the web client's backoff
 * does, until the limit.
 */
function reconnect(entry: { socket: Client; subs: Sub[] }, port: number, p: StormPlan, limitMs: number): void {
  const next = open(
    port,
    p.token,
    () => {
      next.removeAllListeners();
      next.close();
      if (reported || Date.now() - resumeStarted > limitMs) return;
      retries++;
      setTimeout(() => reconnect(entry, port, p, limitMs), 250 + Math.random() * 750);
    },
    limitMs,
  );
  entry.socket = next;
  attach(next, entry.subs);
  next.on('connect', () => {
    for (const sub of entry.subs) subscribe(next, sub, p.channel, () => undefined);
  });
}

/** A subscription of the resume left 'subscribing': the result once none is left. */
function settled(): void {
  if (resumeStarted === 0 || reported) return;
  if (--waiting > 0) return;
  report();
}

/** The result, once: when every subscription is live or gave up, or at the limit with those still subscribing left out of `live`. */
function report(): void {
  if (reported) return;
  reported = true;
  const all = sockets.flatMap((s) => s.subs);
  const live = all.filter((s) => s.state === 'live');
  const counts = live.map((s) => s.replayed);
  const result: StormResult = {
    subscriptions: all.length,
    live: live.length,
    resyncs: all.filter((s) => s.state === 'resynced').length,
    refused: all.filter((s) => s.state === 'refused').length,
    why,
    retries,
    ms: Date.now() - resumeStarted,
    replayed: {
      min: counts.reduce((a, b) => Math.min(a, b), counts[0] ?? 0),
      mean: counts.length ? counts.reduce((a, b) => a + b, 0) / counts.length : 0,
      max: counts.reduce((a, b) => Math.max(a, b), 0),
    },
  };
  say(JSON.stringify(result));
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const command = JSON.parse(line) as StormCommand;
  if ('start' in command) start(command.start);
  else if ('resume' in command) resume(command.resume.port, command.resume.limitMs);
  else {
    for (const { socket } of sockets) {
      socket.removeAllListeners();
      socket.disconnect();
    }
    say('dropped');
  }
});
