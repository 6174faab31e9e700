// The subscription lifecycle against a fake socket, with fake timers: subscribe on
// mount, events routed by id (also before the ack), resubscribe from the last seq after a
// reconnect with backoff, unsubscribe on unmount, nothing left behind; what the client
// reports beside the handlers; and the socket createRealtime makes.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { PROTOCOL_VERSION, WS_PATH } from '@realtime/protocol';
import { createRealtime } from './create.js';
import { RealtimeClient } from './client.js';
import { change } from './testing/changes.js';
import { FakeSocket } from './testing/fake-socket.js';

describe('RealtimeClient', () => {
  let socket: FakeSocket;
  let client: RealtimeClient;
  beforeEach(() => {
    vi.useFakeTimers();
    socket = new FakeSocket();
    client = new RealtimeClient(socket, { timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) }, random: () => 0.5 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('mount subscribes with the cursor, events flow, reconnect resumes from the last seq, unmount unsubscribes', () => {
    const seen: number[] = [];
    let lastSeq = 0;
    client.start();
    socket.up();
    const unmount = client.subscribe(
      { channel: 'projects', resume: () => (lastSeq ? { since: lastSeq } : { cursor: 'C1' }) },
      { onChanges: (es) => es.forEach((e) => { seen.push(e.seq); lastSeq = e.seq; }) },
    );
    expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', cursor: 'C1' });
    // An event before the ack is kept and delivered once the id is known.
    socket.fire('changes', change('s1', 1));
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 1 });
    expect(client.connection.status).toBe('catching-up');
    socket.fire('changes', change('s1', 2));
    socket.fire('live', { sub: 's1', seq: 2 });
    expect(client.connection).toMatchObject({ status: 'live', lastCatchUp: 2 });
    expect(seen).toEqual([1, 2]);

    // Lost: offline, then a reconnect after the backoff (500 ms at the first attempt).
    socket.down();
    expect(client.connection.status).toBe('offline');
    expect(socket.connects).toBe(1);
    vi.advanceTimersByTime(499);
    expect(socket.connects).toBe(1);
    vi.advanceTimersByTime(1);
    expect(socket.connects).toBe(2);
    socket.up();
    expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 2 });
    socket.last('subscribe').ack!({ ok: true, id: 's2', headSeq: 5 });
    socket.fire('changes', change('s1', 3)); // for the old id: ignored
    socket.fire('changes', change('s2', 3));
    socket.fire('live', { sub: 's2', seq: 3 });
    expect(seen).toEqual([1, 2, 3]);

    unmount();
    expect(socket.last('unsubscribe').payload).toEqual({ id: 's2' });
    socket.fire('changes', change('s2', 4));
    expect(seen).toEqual([1, 2, 3]);
    client.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  test('backoff grows with each failed attempt, up to 30 s', () => {
    client.start();
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const before = socket.connects;
      socket.fire('connect_error');
      let waited = 0;
      while (socket.connects === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  test('resync is handed to the subscription; an error ack is reported', () => {
    const reasons: string[] = [];
    const errors: string[] = [];
    client.start();
    socket.up();
    client.subscribe({ channel: 'projects', resume: () => ({ since: 10 }) }, { onChanges: () => undefined, onResync: (r) => reasons.push(r), onError: (m) => errors.push(m) });
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 1 });
    socket.fire('resync', { sub: 's1', reason: 'retention', headSeq: 99 });
    expect(reasons).toEqual(['retention']);
    client.subscribe({ channel: 'nope', resume: () => ({}) }, { onChanges: () => undefined, onError: (m) => errors.push(m) });
    socket.last('subscribe').ack!({ ok: false, error: { code: 'UNKNOWN_CHANNEL', message: 'unknown channel "nope"' } });
    expect(errors).toEqual(['UNKNOWN_CHANNEL: unknown channel "nope"']);
  });

  test('a batch is handed to the subscription in one call, in order, and counts toward the catch-up', () => {
    const calls: number[][] = [];
    client.start();
    socket.up();
    expect(socket.auth).toMatchObject({ v: PROTOCOL_VERSION });
    client.subscribe({ channel: 'projects', resume: () => ({ since: 0 }) }, { onChanges: (es) => calls.push(es.map((e) => e.seq)) });
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 5 });
    socket.fire('changes', change('s1', 1, 2, 3));
    socket.fire('changes', change('s1', 4, 5));
    socket.fire('live', { sub: 's1', seq: 5 });
    expect(calls).toEqual([[1, 2, 3], [4, 5]]);
    expect(client.connection).toMatchObject({ status: 'live', lastCatchUp: 5 });
  });

  test('a RATE_LIMITED refusal is asked again after a backoff', () => {
    client.start();
    socket.up();
    client.subscribe({ channel: 'projects', resume: () => ({}) }, { onChanges: () => undefined });
    socket.last('subscribe').ack!({ ok: false, error: { code: 'RATE_LIMITED', message: 'at most 20 subscribes a second' } });
    const count = () => socket.sent.filter((x) => x.event === 'subscribe').length;
    vi.advanceTimersByTime(499);
    expect(count()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(count()).toBe(2);
  });

  test('an INTERNAL refusal is asked again with backoff; a refusal about the request is not', () => {
    const errors: string[] = [];
    client.start();
    socket.up();
    client.subscribe({ channel: 'projects', resume: () => ({ since: 3 }) }, { onChanges: () => undefined, onError: (m) => errors.push(m) });
    const internal = { ok: false, error: { code: 'INTERNAL', message: 'the gateway could not open this subscription; try again' } };
    socket.last('subscribe').ack!(internal);
    const count = () => socket.sent.filter((x) => x.event === 'subscribe').length;
    expect(count()).toBe(1);
    vi.advanceTimersByTime(499);
    expect(count()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(count()).toBe(2);
    expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 3 });
    socket.last('subscribe').ack!(internal);
    vi.advanceTimersByTime(999);
    expect(count()).toBe(2);
    vi.advanceTimersByTime(1);
    expect(count()).toBe(3);
    socket.last('subscribe').ack!({ ok: true, id: 's9', headSeq: 3 });
    expect(errors).toHaveLength(2);

    client.subscribe({ channel: 'nope', resume: () => ({}) }, { onChanges: () => undefined, onError: (m) => errors.push(m) });
    socket.last('subscribe').ack!({ ok: false, error: { code: 'FORBIDDEN', message: 'no grant' } });
    vi.advanceTimersByTime(60_000);
    expect(count()).toBe(4);
  });

  test('a reconnect while a retry waits sends one subscribe, not two', () => {
    client.start();
    socket.up();
    client.subscribe({ channel: 'projects', resume: () => ({ since: 3 }) }, { onChanges: () => undefined });
    socket.last('subscribe').ack!({ ok: false, error: { code: 'INTERNAL', message: 'try again' } });
    socket.down();
    socket.up();
    const count = () => socket.sent.filter((x) => x.event === 'subscribe').length;
    expect(count()).toBe(2);
    vi.advanceTimersByTime(60_000);
    expect(count()).toBe(2);
  });

  test('dropFor takes the connection down for the given time, then back', () => {
    client.start();
    socket.up();
    client.dropFor(3000);
    expect(client.connection.status).toBe('offline');
    vi.advanceTimersByTime(2999);
    expect(socket.connects).toBe(1);
    vi.advanceTimersByTime(1);
    expect(socket.connects).toBe(2);
  });

  test('a subscription made while offline is sent on connect', () => {
    client.start();
    client.subscribe({ channel: 'projects', resume: () => ({}) }, { onChanges: () => undefined });
    expect(socket.sent).toEqual([]);
    socket.up();
    expect(socket.last('subscribe').payload).toEqual({ channel: 'projects' });
  });
});

describe('what the client reports beside the handlers', () => {
  const min = 60_000;
  let socket: FakeSocket;
  beforeEach(() => {
    vi.useFakeTimers();
    socket = new FakeSocket();
  });
  afterEach(() => vi.useRealTimers());

  test('each delivered batch, the head at the ack, renewals and expiry, strays', async () => {
    let n = 0;
    const client = new RealtimeClient(socket, { random: () => 0.5, tokens: async () => ({ token: `t${++n}`, expiresAt: Date.now() + 15 * min }) });
    const batches: number[][] = [];
    const renewed: number[] = [];
    const unauthorized: string[] = [];
    const strays: string[] = [];
    const heads: number[] = [];
    client.on('batch', (b, spec) => batches.push([...b.changes.map((c) => c.seq), spec.channel.length]));
    client.on('renewed', (at) => renewed.push(at));
    client.on('unauthorized', (e) => unauthorized.push(e.during));
    client.on('stray', (_kind, sub) => strays.push(sub));
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    socket.up();
    client.subscribe({ channel: 'projects', resume: () => ({}) }, { onChanges: () => undefined, onSubscribed: (h) => heads.push(h) });
    // Before the ack: held, not a stray.
    socket.fire('changes', change('s1', 1, 2));
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 0 });
    socket.fire('changes', change('s1', 3));
    socket.fire('changes', change('nobody', 4));
    expect(heads).toEqual([0]);
    expect(batches).toEqual([
      [1, 2, 8],
      [3, 8],
    ]);
    expect(strays).toEqual(['nobody']);

    await vi.advanceTimersByTimeAsync(12 * min);
    socket.last('auth').ack!({ ok: true, expiresAt: 1_900_000_000 });
    expect(renewed).toEqual([1_900_000_000_000]);

    socket.fire('unauthorized', { reason: 'expired', message: 'token expired' });
    socket.fire('connect_error', Object.assign(new Error('UNAUTHORIZED: expired'), { data: { code: 'UNAUTHORIZED' } }));
    expect(unauthorized).toEqual(['connection', 'handshake']);
    client.stop();
  });

  test('renew: false leaves the token to run out; backoff options set the reconnection delays', async () => {
    const client = new RealtimeClient(socket, { random: () => 0.5, renew: false, backoff: { baseMs: 100, maxMs: 400 }, tokens: async () => ({ token: 't', expiresAt: Date.now() + 15 * min }) });
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    socket.up();
    await vi.advanceTimersByTimeAsync(20 * min);
    expect(socket.count('auth')).toBe(0);
    socket.connected = false;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = socket.connects;
      socket.fire('connect_error');
      let waited = 0;
      while (socket.connects === before) {
        await vi.advanceTimersByTimeAsync(50);
        waited += 50;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([100, 200, 400, 400]);
    client.stop();
  });

  test('a subscription let go: its late events are neither applied nor strays', () => {
    const client = new RealtimeClient(socket);
    const strays: string[] = [];
    client.on('stray', (_k, sub) => strays.push(sub));
    const seen: number[] = [];
    client.start();
    socket.up();
    const unsub = client.subscribe({ channel: 'projects', resume: () => ({}) }, { onChanges: (es) => es.forEach((e) => seen.push(e.seq)) });
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 0 });
    unsub();
    socket.fire('changes', change('s1', 1));
    expect(seen).toEqual([]);
    expect(strays).toEqual([]);
    client.stop();
  });
});

describe('createRealtime', () => {
  test('makes its own socket: the protocol path, websocket only, its own reconnection', async () => {
    const client = createRealtime({ url: 'http://127.0.0.1:9', getToken: async () => null });
    const opts = (client.socket.io as unknown as { opts: { path: string; transports: string[]; reconnection: boolean; autoConnect: boolean } }).opts;
    expect(opts).toMatchObject({ path: WS_PATH, transports: ['websocket'], reconnection: false, autoConnect: false });
    // Signed out: start() asks for a token, gets null and stops without connecting.
    client.start();
    expect(client.phase).toBe('authenticating');
    await vi.waitFor(() => expect(client.phase).toBe('stopped'));
    expect(client.socket.connected).toBe(false);
    client.stop();
  });
});
