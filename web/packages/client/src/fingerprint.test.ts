// History identity on the client: a resume from a seq carries the fingerprint of the
// change it saw at that seq (protocol 3), taken from the batches it delivered, and a
// `history-changed` resync reaches the subscription's onResync like any other.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { ChangesEvent } from '@realtime/protocol';
import { RealtimeClient } from './client.js';
import { FakeSocket } from './testing/fake-socket.js';

const batch = (sub: string, ...seqs: number[]): ChangesEvent => ({ sub, channel: 'projects', changes: seqs.map((seq) => ({ seq, op: 'INSERT' as const, row: { id: `r${seq}` }, old: null, committedAt: '', fp: `fp${seq}` })) });

let socket: FakeSocket;
let client: RealtimeClient;
beforeEach(() => {
  vi.useFakeTimers();
  socket = new FakeSocket();
  client = new RealtimeClient(socket, { timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) }, random: () => 0.5 });
});
afterEach(() => {
  client.stop();
  vi.useRealTimers();
});

test('a resume from the last seq sends the fingerprint that change came with; a resync of history-changed is reported', () => {
  let last = 0;
  const reasons: string[] = [];
  client.start();
  socket.up();
  client.subscribe({ channel: 'projects', resume: () => (last ? { since: last, cursor: 'C1' } : { cursor: 'C1' }) }, { onChanges: (es) => (last = es.at(-1)!.seq), onResync: (r) => reasons.push(r) });
  expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', cursor: 'C1' });
  socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 1 });
  socket.fire('changes', batch('s1', 2, 3));
  socket.fire('changes', batch('s1', 7));
  socket.down();
  vi.advanceTimersByTime(500);
  socket.up();
  expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 7, fp: 'fp7', cursor: 'C1' });
  socket.last('subscribe').ack!({ ok: true, id: 's2', headSeq: 9 });
  socket.fire('resync', { sub: 's2', reason: 'history-changed', headSeq: 9 });
  expect(reasons).toEqual(['history-changed']);
});

test('a fingerprint the app gives is kept; a seq the client never saw goes without one (the gateway then resyncs)', () => {
  client.start();
  socket.up();
  client.subscribe({ channel: 'projects', resume: () => ({ since: 5, fp: 'mine' }) }, { onChanges: () => undefined });
  expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 5, fp: 'mine' });
  client.subscribe({ channel: 'projects', resume: () => ({ since: 6 }) }, { onChanges: () => undefined });
  expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 6 });
});

test('a new subscription over the same position (a remount) finds the fingerprint another subscription delivered', () => {
  client.start();
  socket.up();
  const unmount = client.subscribe({ channel: 'projects', resume: () => ({}) }, { onChanges: () => undefined });
  socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 0 });
  socket.fire('changes', batch('s1', 4));
  unmount();
  client.subscribe({ channel: 'projects', resume: () => ({ since: 4 }) }, { onChanges: () => undefined });
  expect(socket.last('subscribe').payload).toEqual({ channel: 'projects', since: 4, fp: 'fp4' });
});
