// The subscription lifecycle against a fake socket, with fake timers: subscribe on
// mount, events routed by id (also before the ack), resubscribe from the last seq after a
// reconnect with backoff, unsubscribe on unmount, nothing left behind.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { ChangeEvent } from '@realtime/protocol';
import { RealtimeClient } from './client';
import { FakeSocket } from './testing/fake-socket';

const change = (sub: string, seq: number): ChangeEvent => ({ sub, seq, channel: 'projects', op: 'INSERT', row: { id: `r${seq}` }, old: null, committedAt: '' });

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
    socket.fire('change', change('s1', 1));
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 1 });
    expect(client.connection.status).toBe('catching-up');
    socket.fire('change', change('s1', 2));
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
    socket.fire('change', change('s1', 3)); // for the old id: ignored
    socket.fire('change', change('s2', 3));
    socket.fire('live', { sub: 's2', seq: 3 });
    expect(seen).toEqual([1, 2, 3]);

    unmount();
    expect(socket.last('unsubscribe').payload).toEqual({ id: 's2' });
    socket.fire('change', change('s2', 4));
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
