// @vitest-environment happy-dom
// The hook's lifecycle against a fake socket: mounting subscribes with the list's
// cursor, changes land in the TanStack Query cache in order (duplicates ignored),
// resync refetches (and `me` too when it is about membership), and unmounting
// unsubscribes.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ChangeEvent, ChangesEvent } from '@realtime/protocol';
import type { ListData } from '../api';
import { meQuery } from '../qk';
import { RealtimeClient } from './client';
import { FakeSocket } from './testing/fake-socket';
import { RealtimeProvider, useRealtimeSubscription } from './react';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const key = ['extraction', 'jobs', 'p1'];
const change = (seq: number, op: ChangeEvent['op'], id: string, progress = 0): ChangesEvent => ({
  sub: 'srv1',
  channel: 'extraction_jobs',
  changes: [
    {
      seq,
      op,
      row: op === 'DELETE' ? null : { id, projectId: 'p1', progress, createdAt: `2026-01-01T00:00:0${seq % 10}.000Z` },
      old: op === 'INSERT' ? null : { id, projectId: 'p1' },
      committedAt: '',
    },
  ],
});

let container: HTMLElement;
let root: Root;
let socket: FakeSocket;
let qc: QueryClient;

async function mount(client: RealtimeClient, live = true): Promise<void> {
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>{live ? <Live /> : null}</RealtimeProvider>
      </QueryClientProvider>,
    );
  });
}

function Live() {
  useRealtimeSubscription({ channel: 'extraction_jobs', filter: { project_id: 'p1' }, queryKey: key });
  return null;
}

beforeEach(() => {
  container = document.createElement('div');
  root = createRoot(container);
  socket = new FakeSocket(true);
  qc = new QueryClient();
  qc.setQueryData<ListData>(key, { items: [{ id: 'j0', projectId: 'p1', progress: 0, createdAt: '2026-01-01T00:00:00.000Z' }], cursor: 'CUR', page: { limit: 50, offset: 0, nextOffset: null } });
});
afterEach(() => {
  act(() => root.unmount());
});

test('mount subscribes with the cursor; changes reach the cache in order; resync refetches', async () => {
  const client = new RealtimeClient(socket);
  await mount(client);
  const sub = socket.sent.find((s) => s.event === 'subscribe')!;
  expect(sub.payload).toEqual({ channel: 'extraction_jobs', filter: { project_id: 'p1' }, cursor: 'CUR' });
  await act(async () => {
    sub.ack!({ ok: true, id: 'srv1', headSeq: 3 });
    socket.fire('changes', change(1, 'INSERT', 'j1'));
    socket.fire('changes', change(2, 'UPDATE', 'j0', 50));
    socket.fire('changes', change(2, 'UPDATE', 'j0', 99)); // duplicate seq: ignored
    socket.fire('changes', change(3, 'DELETE', 'j1'));
    socket.fire('live', { sub: 'srv1', seq: 3 });
  });
  const data = qc.getQueryData<ListData>(key)!;
  expect(data.items.map((r) => [r.id, r.progress])).toEqual([['j0', 50]]);
  expect(data.seq).toBe(3);

  // A resync marks the list stale so that it is fetched again.
  const invalidate = vi.spyOn(qc, 'invalidateQueries');
  await act(async () => socket.fire('resync', { sub: 'srv1', reason: 'retention', headSeq: 9 }));
  expect(invalidate).toHaveBeenCalledWith({ queryKey: key });
});

test('a membership resync refetches the list and `me` (roles changed with it)', async () => {
  const client = new RealtimeClient(socket);
  await mount(client);
  const invalidate = vi.spyOn(qc, 'invalidateQueries');
  await act(async () => {
    socket.sent.find((s) => s.event === 'subscribe')!.ack!({ ok: true, id: 'srv1', headSeq: 0 });
    socket.fire('resync', { sub: 'srv1', reason: 'membership', headSeq: 4 });
  });
  expect(invalidate.mock.calls.map(([filters]) => filters)).toEqual([{ queryKey: key }, { queryKey: meQuery.queryKey }]);
});

test('after a reconnect the hook resumes from the last applied seq, with its list cursor', async () => {
  const client = new RealtimeClient(socket, { random: () => 0.5 });
  await mount(client);
  await act(async () => {
    socket.sent.find((s) => s.event === 'subscribe')!.ack!({ ok: true, id: 'srv1', headSeq: 5 });
    socket.fire('changes', change(5, 'INSERT', 'j5'));
  });
  vi.useFakeTimers();
  try {
    socket.connected = false;
    await act(async () => socket.fire('disconnect'));
    await act(async () => vi.advanceTimersByTime(500));
    const again = socket.sent.filter((s) => s.event === 'subscribe').at(-1)!;
    // The cursor goes along: its snapshot still says which changes the list had.
    expect(again.payload).toEqual({ channel: 'extraction_jobs', filter: { project_id: 'p1' }, since: 5, cursor: 'CUR' });
  } finally {
    vi.useRealTimers();
  }
});

test('unmounting sends unsubscribe for an acknowledged subscription', async () => {
  const client = new RealtimeClient(socket);
  await mount(client);
  await act(async () => socket.sent.find((s) => s.event === 'subscribe')!.ack!({ ok: true, id: 'srv1', headSeq: 0 }));
  await mount(client, false);
  expect(socket.sent.filter((s) => s.event === 'unsubscribe').map((s) => s.payload)).toEqual([{ id: 'srv1' }]);
});
