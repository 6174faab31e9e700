// The framework-free window controller against the fake socket: the first page, then a
// subscription with its cursor; batches applied as they come; loadMore merges the next
// page with what arrived while it was read; a resync reads the first page again; a
// window given at start is followed from its position without a read.
import { expect, test, vi } from 'vitest';
import type { Change, ListOrder, ListPage } from '@realtime/protocol';
import { RealtimeClient } from '../client.js';
import { FakeSocket } from '../testing/fake-socket.js';
import { firstPageRetry, LiveWindowController } from './controller.js';

type R = { id: string; v: number };
const order: ListOrder = { by: 'v', desc: false, key: 'id' };
const page = (items: R[], next: string | null, total: number, head: number, cursor = 'C1'): ListPage<R> => ({ items, cursor, page: { next, total, limit: 2, order, snapshot: { head, xmin: '1', xmax: '1', xip: [] } } });
const ins = (seq: number, row: R): Change => ({ seq, op: 'INSERT', row, old: null, committedAt: '', fp: `fp${seq}` });

function setup(pages: Record<string, ListPage<R>>) {
  const socket = new FakeSocket(true);
  const client = new RealtimeClient(socket);
  client.start();
  const fetchPage = vi.fn(async ({ after }: { after: string | null }) => pages[after ?? 'first']!);
  const fire = (...changes: Change[]) => socket.fire('changes', { sub: 'srv1', channel: 'jobs', changes });
  const subscribes = () => socket.sent.filter((s) => s.event === 'subscribe');
  return { socket, client, fetchPage, fire, subscribes };
}

test('first page, subscription with its cursor, changes, loadMore across the seam, resync', async () => {
  const t = setup({ first: page([{ id: 'a', v: 10 }, { id: 'b', v: 20 }], 'after-b', 3, 5) });
  const live = new LiveWindowController<R>({ client: t.client, channel: 'jobs', filter: { projectId: 'p1' }, fetchPage: t.fetchPage });
  const seen: number[] = [];
  live.listen((s) => s.window && seen.push(s.window.items.length));
  live.start();
  await vi.waitFor(() => expect(t.subscribes()).toHaveLength(1));
  expect(t.subscribes()[0]!.payload).toEqual({ channel: 'jobs', filter: { projectId: 'p1' }, cursor: 'C1' });
  t.subscribes()[0]!.ack!({ ok: true, id: 'srv1', headSeq: 5 });
  t.fire(ins(6, { id: 'x', v: 15 }), ins(7, { id: 'y', v: 99 }));
  expect(live.state.window!.items.map((r) => r.id)).toEqual(['a', 'x', 'b']);
  expect(live.state.window!.total).toBe(5);

  // The next page is in flight while seq 8 arrives; the page (read at head 7) lacks it.
  let release: () => void = () => undefined;
  t.fetchPage.mockImplementationOnce(() => new Promise((r) => (release = () => r(page([{ id: 'c', v: 30 }, { id: 'y', v: 99 }], null, 5, 7)))));
  const more = live.loadMore();
  expect(live.state.loading).toBe('more');
  t.fire(ins(8, { id: 'z', v: 40 }));
  release();
  await more;
  expect(live.state.window!.items.map((r) => r.id)).toEqual(['a', 'x', 'b', 'c', 'z', 'y']);
  expect([live.state.window!.total, live.state.window!.end, live.state.window!.next]).toEqual([6, null, null]);
  expect(t.fetchPage.mock.calls.map(([p]) => p.after)).toEqual([null, 'after-b']);

  // A resync: the first page again, and a subscription from its cursor.
  t.fetchPage.mockImplementationOnce(async () => page([{ id: 'a', v: 10 }], 'after-a', 7, 20, 'C9'));
  t.socket.fire('resync', { sub: 'srv1', reason: 'history-changed', headSeq: 20 });
  await vi.waitFor(() => expect(live.state.window!.cursor).toBe('C9'));
  expect(live.state.window!.items.map((r) => r.id)).toEqual(['a']);
  await vi.waitFor(() => expect(t.subscribes().at(-1)!.payload).toEqual({ channel: 'jobs', filter: { projectId: 'p1' }, cursor: 'C9' }));
  live.stop();
  // Every step was told to the listener: first page, batch, loading, merge, resync.
  expect(seen).toEqual([2, 3, 3, 3, 6, 6, 1]);
});

test('a window given at start is followed from its position (since and fp) without reading a page', async () => {
  const t = setup({});
  const live = new LiveWindowController<R>({
    client: t.client,
    channel: 'jobs',
    fetchPage: t.fetchPage,
    initial: { items: [{ id: 'a', v: 10 }], end: [10, 'a'], next: 'after-a', total: 4, seq: 12, fp: 'fp12', cursor: 'C1', snapshot: { head: 5, xmin: '1', xmax: '1', xip: [] }, order },
  });
  live.start();
  expect(t.subscribes()[0]!.payload).toEqual({ channel: 'jobs', cursor: 'C1', since: 12, fp: 'fp12' });
  expect(t.fetchPage).not.toHaveBeenCalled();
  live.stop();
});

test('a first page that fails is read again with backoff, and the window then follows; stop ends the retries', async () => {
  const t = setup({ first: page([{ id: 'a', v: 10 }], null, 1, 5) });
  const real = t.fetchPage.getMockImplementation()!;
  let failures = 2;
  t.fetchPage.mockImplementation(async (p) => {
    if (failures-- > 0) throw new Error('HTTP 503');
    return real(p);
  });
  const waits: number[] = [];
  const live = new LiveWindowController<R>({ client: t.client, channel: 'jobs', fetchPage: t.fetchPage, retry: (n) => (waits.push(n), 0) });
  live.start();
  await vi.waitFor(() => expect(t.subscribes()).toHaveLength(1));
  expect(waits).toEqual([1, 2]);
  expect(t.fetchPage).toHaveBeenCalledTimes(3);
  expect(live.state).toMatchObject({ loading: null, error: null });
  expect(live.state.window!.items.map((r) => r.id)).toEqual(['a']);
  live.stop();

  // Stopped while failing: no read after stop.
  const down = setup({});
  down.fetchPage.mockImplementation(async () => {
    throw new Error('HTTP 503');
  });
  const stopped = new LiveWindowController<R>({ client: down.client, channel: 'jobs', fetchPage: down.fetchPage, retry: () => 60_000 });
  vi.useFakeTimers();
  try {
    stopped.start();
    await vi.waitFor(() => expect(stopped.state.error).not.toBeNull());
    stopped.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(down.fetchPage).toHaveBeenCalledTimes(1);
  } finally {
    vi.useRealTimers();
  }
});

test('firstPageRetry: 250 ms doubling, at most 10 s', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 10].map(firstPageRetry)).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
});
