// Reconnecting at once when the browser says it is worth it (`online`, the tab shown
// again), and only then: against a fake socket, fake window and document, fake timers.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { RealtimeClient } from './client.js';
import { change } from './testing/changes.js';
import { FakeSocket } from './testing/fake-socket.js';

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
