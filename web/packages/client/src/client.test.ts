// The subscription lifecycle against a fake socket, with fake timers: subscribe on
// mount, events routed by id (also before the ack), resubscribe from the last seq after a
// reconnect with backoff, unsubscribe on unmount, nothing left behind; and user tokens,
// renewed on the open socket and fetched afresh when the server refuses them.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { PROTOCOL_VERSION, WS_PATH, type ChangeEvent, type ChangesEvent } from '@realtime/protocol';
import { createRealtime } from './create.js';
import { RealtimeClient, refreshDelay, type RealtimeToken } from './client.js';
import { FakeSocket } from './testing/fake-socket.js';

const change = (sub: string, ...seqs: number[]): ChangesEvent => ({ sub, channel: 'projects', changes: seqs.map((seq) => ({ seq, op: 'INSERT' as const, row: { id: `r${seq}` }, old: null, committedAt: '' })) });

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

/** A window or document as the client sees one: listeners by type, and a way to fire them. */
class FakeTarget {
  visibilityState = 'visible';
  readonly listeners = new Map<string, Set<() => void>>();
  addEventListener(type: string, fn: () => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: () => void) {
    this.listeners.get(type)?.delete(fn);
  }
  fire(type: string) {
    for (const fn of this.listeners.get(type) ?? []) fn();
  }
  get count() {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}

describe('reconnecting at once when the network returns or the tab is shown', () => {
  let socket: FakeSocket;
  let win: FakeTarget;
  let doc: FakeTarget;
  let client: RealtimeClient;
  let now: number;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
    socket = new FakeSocket();
    win = new FakeTarget();
    doc = new FakeTarget();
    client = new RealtimeClient(socket, { timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) }, random: () => 0.5, now: () => now, environment: { window: win, document: doc } });
  });
  afterEach(() => {
    client.stop();
    vi.useRealTimers();
  });

  /** Down after `failures` failed attempts: the next one waits its backoff. */
  const downAfter = (failures: number) => {
    client.start();
    socket.up();
    socket.down();
    for (let i = 0; i < failures; i++) {
      vi.runOnlyPendingTimers();
      socket.fire('connect_error', new Error('net::ERR_INTERNET_DISCONNECTED'));
    }
    return socket.connects;
  };

  test('`online` tries at once while the socket is down, instead of waiting out a 16 s backoff', () => {
    const before = downAfter(5);
    expect(client.connection).toMatchObject({ status: 'offline', attempt: 6 });
    win.fire('online');
    expect(socket.connects).toBe(before + 1);
    // The backoff's timer was replaced by the attempt, not run beside it.
    vi.advanceTimersByTime(60_000);
    expect(socket.connects).toBe(before + 1);
  });

  test('the tab shown again tries at once; hidden, it does not', () => {
    const before = downAfter(3);
    doc.visibilityState = 'hidden';
    doc.fire('visibilitychange');
    expect(socket.connects).toBe(before);
    doc.visibilityState = 'visible';
    doc.fire('visibilitychange');
    expect(socket.connects).toBe(before + 1);
  });

  test('no attempt when connected, while an attempt is under way, or during a deliberate drop', () => {
    client.start();
    expect(socket.connects).toBe(1);
    // The first attempt has not answered yet.
    win.fire('online');
    expect(socket.connects).toBe(1);
    socket.up();
    win.fire('online');
    doc.fire('visibilitychange');
    expect(socket.connects).toBe(1);
    client.dropFor(5000);
    win.fire('online');
    expect(socket.connects).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(socket.connects).toBe(2);
  });

  test('an attempt made at once that fails waits the next step of the backoff; a success starts it over', () => {
    downAfter(2);
    win.fire('online');
    const waitForNext = () => {
      const before = socket.connects;
      let waited = 0;
      while (socket.connects === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      return waited;
    };
    // Failures so far: 2 in the backoff (500 ms, 1 s were waited), the immediate one makes 3.
    socket.fire('connect_error', new Error('net::ERR_NAME_NOT_RESOLVED'));
    expect(waitForNext()).toBe(4000);
    socket.up();
    expect(client.connection.attempt).toBe(0);
    socket.down();
    expect(waitForNext()).toBe(500);
  });

  test('stop() lets go of the listeners; start() takes them again, once', () => {
    client.start();
    expect(win.count + doc.count).toBe(2);
    client.stop();
    expect(win.count + doc.count).toBe(0);
    client.start();
    client.stop();
    client.start();
    expect(win.count + doc.count).toBe(2);
    client.stop();
    socket.connects = 0;
    win.fire('online');
    expect(socket.connects).toBe(0);
  });

  test('without a window or document (Node) it starts, reconnects with backoff and stops', () => {
    const bare = new RealtimeClient(socket, { timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) }, random: () => 0.5 });
    bare.start();
    socket.up();
    socket.down();
    vi.advanceTimersByTime(500);
    expect(socket.connects).toBe(2);
    bare.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  test('offline: since when, and how old the data is (the last word from the server); catching up: how far behind the head', () => {
    client.start();
    now += 1000;
    socket.up();
    let lastSeq = 0;
    client.subscribe({ channel: 'projects', resume: () => (lastSeq ? { since: lastSeq } : { cursor: 'C' }) }, { onChanges: (es) => (lastSeq = es.at(-1)!.seq) });
    now += 1000;
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 10 });
    socket.fire('live', { sub: 's1', seq: 10 });
    now += 5000;
    socket.fire('changes', change('s1', 11));
    const heard = now;
    expect(client.connection).toMatchObject({ status: 'live', behind: 0, dataAt: null, offlineSince: null });

    now += 3000;
    socket.down();
    expect(client.connection).toMatchObject({ status: 'offline', dataAt: heard, offlineSince: now });
    const down = now;
    // Failed attempts keep both where they were.
    for (let i = 0; i < 3; i++) {
      now += 10_000;
      vi.runOnlyPendingTimers();
      socket.fire('connect_error', new Error('down'));
    }
    expect(client.connection).toMatchObject({ status: 'offline', dataAt: heard, offlineSince: down, attempt: 4 });

    win.fire('online');
    socket.up();
    expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 11 });
    socket.last('subscribe').ack!({ ok: true, id: 's2', headSeq: 111 });
    expect(client.connection).toMatchObject({ status: 'catching-up', behind: 100, dataAt: null, offlineSince: null });
    socket.fire('changes', change('s2', 12, 40, 61));
    expect(client.connection).toMatchObject({ status: 'catching-up', behind: 50, catchingUp: 3 });
    socket.fire('live', { sub: 's2', seq: 111 });
    expect(client.connection).toMatchObject({ status: 'live', behind: 0, lastCatchUp: 3 });
  });
});

describe('refreshDelay', () => {
  const min = 60_000;
  test.each([
    ['15 min left: at 80% (12 min)', 15 * min, 12 * min],
    ['1 hour left: at 80% (48 min)', 60 * min, 48 * min],
    ['3 min left: a minute before', 3 * min, 2 * min],
    ['2 min left: a minute before', 2 * min, min],
    ['already expired: the floor, not a spin', -min, 10_000],
  ])('%s', (_, left, delay) => {
    expect(refreshDelay(1_000_000 + left, 1_000_000)).toBe(delay);
  });
});

describe('RealtimeClient with user tokens', () => {
  const min = 60_000;
  let socket: FakeSocket;
  let client: RealtimeClient;
  let issued: number;
  /** What the next token requests answer, in order; a token for 15 minutes when empty. */
  let answers: (RealtimeToken | null | Error)[];
  const tokens = vi.fn(async (): Promise<RealtimeToken | null> => {
    const next = answers.shift();
    if (next instanceof Error) throw next;
    if (next !== undefined) return next;
    return { token: `t${++issued}`, expiresAt: Date.now() + 15 * min };
  });
  const flush = () => vi.advanceTimersByTimeAsync(0);
  const subscribeCount = () => socket.count('subscribe');

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-03-01T12:00:00Z'));
    issued = 0;
    answers = [];
    tokens.mockClear();
    socket = new FakeSocket();
    client = new RealtimeClient(socket, { tokens, random: () => 0.5 });
  });
  afterEach(() => {
    client.stop();
    vi.useRealTimers();
  });

  /** Started, connected with t1, one subscription acknowledged as s1 and live at `seq`. */
  async function connected(seen: number[] = []): Promise<void> {
    let lastSeq = 0;
    client.start();
    await flush();
    expect(socket.handshakes).toEqual([{ token: 't1', v: PROTOCOL_VERSION }]);
    socket.up();
    client.subscribe({ channel: 'projects', resume: () => (lastSeq ? { since: lastSeq } : { cursor: 'C1' }) }, { onChanges: (es) => es.forEach((e) => (seen.push(e.seq), (lastSeq = e.seq))) });
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 7 });
    socket.fire('changes', change('s1', 7));
    socket.fire('live', { sub: 's1', seq: 7 });
  }

  test('the token is renewed on the open socket before it expires: no reconnect, no resubscribe', async () => {
    const seen: number[] = [];
    await connected(seen);
    expect(tokens).toHaveBeenCalledTimes(1);

    // 15 minutes of life: renewed at 80%, 12 minutes in.
    await vi.advanceTimersByTimeAsync(12 * min - 1);
    expect(socket.count('auth')).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(tokens).toHaveBeenCalledTimes(2);
    expect(socket.last('auth').payload).toEqual({ token: 't2' });
    socket.last('auth').ack!({ ok: true, expiresAt: (Date.now() + 15 * min) / 1000 });

    // The subscription goes on as it was: same server id, nothing sent again.
    socket.fire('changes', change('s1', 8));
    expect(seen).toEqual([7, 8]);
    expect(subscribeCount()).toBe(1);
    expect(socket.count('unsubscribe')).toBe(0);
    expect(socket.connects).toBe(1);
    expect(client.connection.status).toBe('live');

    // The next renewal counts from the new expiry.
    await vi.advanceTimersByTimeAsync(12 * min);
    expect(socket.last('auth').payload).toEqual({ token: 't3' });
    expect(subscribeCount()).toBe(1);
  });

  test('a refused renewal is tried again with backoff; a failed token request too', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await connected();
    answers = [new Error('network down')];
    await vi.advanceTimersByTimeAsync(12 * min);
    expect(socket.count('auth')).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.count('auth')).toBe(1);
    socket.last('auth').ack!({ ok: false, error: { code: 'INTERNAL', message: 'try again' } });
    expect(warn).toHaveBeenCalledWith('realtime token renewal refused: INTERNAL: try again');
    warn.mockRestore();
    await vi.advanceTimersByTimeAsync(999);
    expect(socket.count('auth')).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.count('auth')).toBe(2);
    socket.last('auth').ack!({ ok: true, expiresAt: (Date.now() + 15 * min) / 1000 });
    expect(subscribeCount()).toBe(1);
  });

  test('`unauthorized`: reconnect with a fresh token after the backoff, and resume from the last seq', async () => {
    const seen: number[] = [];
    await connected(seen);
    socket.fire('unauthorized', { reason: 'expired', message: 'the token expired' });
    expect(socket.connected).toBe(false);
    expect(client.connection.status).toBe('offline');
    await vi.advanceTimersByTimeAsync(499);
    expect(tokens).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(tokens).toHaveBeenCalledTimes(2);
    expect(socket.handshakes).toEqual([{ token: 't1', v: PROTOCOL_VERSION }, { token: 't2', v: PROTOCOL_VERSION }]);
    socket.up();
    expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 7 });
    socket.last('subscribe').ack!({ ok: true, id: 's2', headSeq: 9 });
    socket.fire('changes', change('s2', 8));
    socket.fire('live', { sub: 's2', seq: 8 });
    expect(seen).toEqual([7, 8]);
    expect(client.connection).toMatchObject({ status: 'live', lastCatchUp: 1 });
  });

  test('a handshake refused as UNAUTHORIZED asks for a fresh token; a dropped connection reuses a valid one', async () => {
    await connected();
    socket.down();
    await vi.advanceTimersByTimeAsync(500);
    expect(tokens).toHaveBeenCalledTimes(1);
    expect(socket.handshakes).toEqual([{ token: 't1', v: PROTOCOL_VERSION }, { token: 't1', v: PROTOCOL_VERSION }]);
    socket.refuse('UNAUTHORIZED', 'UNAUTHORIZED: token expired');
    await vi.advanceTimersByTimeAsync(1000);
    expect(tokens).toHaveBeenCalledTimes(2);
    expect(socket.handshakes.at(-1)).toEqual({ token: 't2', v: PROTOCOL_VERSION });
    socket.up();
    expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 7 });
  });

  test('a token request answered "signed out" stops the client: no connect, no timer left', async () => {
    await connected();
    socket.fire('unauthorized', { reason: 'expired', message: 'the token expired' });
    answers = [null];
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.connects).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60 * min);
    expect(socket.connects).toBe(1);
    expect(tokens).toHaveBeenCalledTimes(2);
  });

  test.each([
    ['told on the open socket', 'connection', (socket: FakeSocket) => socket.fire('unauthorized', { reason: 'signed-out', message: 'this session was signed out: sign in again' })],
    [
      'refused at the handshake',
      'handshake',
      (socket: FakeSocket) => {
        socket.down();
        socket.fire('connect_error', Object.assign(new Error('UNAUTHORIZED: this session was signed out: sign in again'), { data: { code: 'UNAUTHORIZED', reason: 'signed-out' } }));
      },
    ],
  ] as const)('a session that ended (%s) stops the client with the reason: no token asked for, no reconnect, no timer left', async (_name, during, end) => {
    await connected();
    const told: unknown[] = [];
    client.on('unauthorized', (e) => told.push(e));
    end(socket);
    expect(told).toEqual([{ during, message: expect.stringMatching(/signed out/), reason: 'signed-out' }]);
    expect(socket.connected).toBe(false);
    expect(client.connection.status).toBe('offline');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60 * min);
    expect(tokens).toHaveBeenCalledTimes(1);
    expect(socket.connects).toBe(1);
  });

  test('an expired token is still only a reconnect: `unauthorized` carries its reason', async () => {
    await connected();
    const told: unknown[] = [];
    client.on('unauthorized', (e) => told.push(e));
    socket.fire('unauthorized', { reason: 'expired', message: 'the token expired' });
    expect(told).toEqual([{ during: 'connection', message: 'the token expired', reason: 'expired' }]);
    await vi.advanceTimersByTimeAsync(500);
    expect(tokens).toHaveBeenCalledTimes(2);
  });

  test('a token request that fails (network) counts as a failed attempt, with its backoff', async () => {
    answers = [new Error('network down'), new Error('network down')];
    client.start();
    await flush();
    expect(socket.connects).toBe(0);
    expect(client.connection).toMatchObject({ status: 'offline', attempt: 1 });
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.connects).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.handshakes).toEqual([{ token: 't1', v: PROTOCOL_VERSION }]);
  });

  test('stop then start (strict mode) wires the socket once, and the first token is for nobody', async () => {
    client.start();
    client.stop();
    client.start();
    await flush();
    expect(socket.connects).toBe(1);
    socket.up();
    client.subscribe({ channel: 'projects', resume: () => ({}) }, { onChanges: () => undefined });
    socket.down();
    await vi.advanceTimersByTimeAsync(500);
    socket.up();
    expect(subscribeCount()).toBe(2);
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
