// User tokens: renewed on the open socket before they expire, fetched afresh when the
// server refuses them, and the end of a session stopping the client. A fake socket and
// fake timers.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { PROTOCOL_VERSION } from '@realtime/protocol';
import { RealtimeClient, refreshDelay, type RealtimeToken } from './client.js';
import { change } from './testing/changes.js';
import { FakeSocket } from './testing/fake-socket.js';

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
