// @vitest-environment happy-dom
// Resume after a reload: a live list records the position it is at in its cached data,
// the persister (TanStack's persist-client-core, as the app uses it) keeps only the live
// lists, and a list restored from it subscribes from that position without reading the
// list again; a resync reads it again; a persisted state older than maxAge is dropped.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { persistQueryClientRestore, persistQueryClientSave, type PersistedClient, type Persister } from '@tanstack/query-persist-client-core';
import type { ChangesEvent } from '@realtime/protocol';
import { RealtimeClient } from '@realtime/client';
import { FakeSocket } from '@realtime/client/testing';
import { DEFAULT_PERSIST_MAX_AGE, livePersistOptions, RealtimeProvider, useLiveQuery, type LivePage } from './index.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

type Row = { id: string; name: string; createdAt: string };
const key = ['projects', 'list'];

/** A persister over one in-memory slot, as IndexedDB would keep it (a JSON string). */
function memoryPersister(): Persister & { stored: () => PersistedClient | undefined } {
  let slot: string | undefined;
  return {
    persistClient: (c) => void (slot = JSON.stringify(c)),
    restoreClient: () => (slot === undefined ? undefined : (JSON.parse(slot) as PersistedClient)),
    removeClient: () => void (slot = undefined),
    stored: () => (slot === undefined ? undefined : (JSON.parse(slot) as PersistedClient)),
  };
}

const save = (qc: QueryClient, persister: Persister) => persistQueryClientSave({ ...livePersistOptions({ persister }), queryClient: qc });
const restore = (qc: QueryClient, persister: Persister, maxAge?: number) => persistQueryClientRestore({ ...livePersistOptions({ persister, maxAge }), queryClient: qc });

const batch = (seq: number, id: string, fp: string): ChangesEvent => ({
  sub: 'srv1',
  channel: 'projects',
  changes: [{ seq, op: 'INSERT', row: { id, name: id, createdAt: `2026-01-01T00:00:0${seq % 10}.000Z` }, old: null, committedAt: '', fp }],
});

let container: HTMLElement;
let root: Root;
let socket: FakeSocket;
let queryFn: ReturnType<typeof vi.fn<() => Promise<LivePage<Row>>>>;

function Live() {
  useLiveQuery<Row, LivePage<Row>>({ channel: 'projects', queryKey: key, queryFn });
  return null;
}

async function mount(qc: QueryClient): Promise<RealtimeClient> {
  const client = new RealtimeClient(socket);
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <Live />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
  return client;
}

const subscribes = () => socket.sent.filter((s) => s.event === 'subscribe');

beforeEach(() => {
  container = document.createElement('div');
  root = createRoot(container);
  socket = new FakeSocket(true);
  queryFn = vi.fn(async () => ({ items: [{ id: 'p0', name: 'p0', createdAt: '2026-01-01T00:00:00.000Z' }], cursor: 'CUR' }));
});
afterEach(() => {
  act(() => root.unmount());
});

test('a batch records the position (seq and fp) in the cached list; only live lists are persisted, with it', async () => {
  const qc = new QueryClient();
  qc.setQueryData(['auth', 'me'], { user: { id: 'u1' } });
  await mount(qc);
  expect(queryFn).toHaveBeenCalledTimes(1);
  await vi.waitFor(() => expect(subscribes()).toHaveLength(1));
  expect(subscribes()[0]!.payload).toEqual({ channel: 'projects', cursor: 'CUR' });
  await act(async () => {
    subscribes()[0]!.ack!({ ok: true, id: 'srv1', headSeq: 7 });
    socket.fire('changes', batch(5, 'p5', 'fp-five'));
    socket.fire('changes', batch(7, 'p7', 'fp-seven'));
  });
  const data = qc.getQueryData<LivePage<Row>>(key)!;
  expect(data.items.map((r) => r.id).sort()).toEqual(['p0', 'p5', 'p7']);
  expect(data.cursor).toBe('CUR');
  expect(data.position).toEqual({ seq: 7, fp: 'fp-seven' });

  const persister = memoryPersister();
  await save(qc, persister);
  const queries = persister.stored()!.clientState.queries;
  expect(queries.map((q) => q.queryKey)).toEqual([key]);
  expect((queries[0]!.state.data as LivePage<Row>).position).toEqual({ seq: 7, fp: 'fp-seven' });
});

test('a restored list shows at once, subscribes from its stored position and does not call queryFn; a resync reads it again', async () => {
  const persister = memoryPersister();
  const before = new QueryClient();
  await mount(before);
  await vi.waitFor(() => expect(subscribes()).toHaveLength(1));
  await act(async () => {
    subscribes()[0]!.ack!({ ok: true, id: 'srv1', headSeq: 9 });
    socket.fire('changes', batch(9, 'p9', 'fp-nine'));
  });
  await save(before, persister);
  act(() => root.unmount());

  // The reload: a new cache, restored before anything mounts, and a new socket.
  root = createRoot(container);
  socket = new FakeSocket(true);
  queryFn.mockClear();
  const qc = new QueryClient();
  await restore(qc, persister);
  expect(qc.getQueryData<LivePage<Row>>(key)!.items.map((r) => r.id).sort()).toEqual(['p0', 'p9']);
  await mount(qc);
  expect(subscribes()).toHaveLength(1);
  expect(subscribes()[0]!.payload).toEqual({ channel: 'projects', cursor: 'CUR', since: 9, fp: 'fp-nine' });
  expect(queryFn).not.toHaveBeenCalled();

  // What came after the reload lands on the restored list.
  await act(async () => {
    subscribes()[0]!.ack!({ ok: true, id: 'srv1', headSeq: 10 });
    socket.fire('changes', batch(10, 'p10', 'fp-ten'));
  });
  expect(qc.getQueryData<LivePage<Row>>(key)!.position).toEqual({ seq: 10, fp: 'fp-ten' });
  expect(queryFn).not.toHaveBeenCalled();

  // Another history (a restored database): the list is read again, and followed from its new cursor.
  queryFn.mockResolvedValueOnce({ items: [{ id: 'q1', name: 'q1', createdAt: '2026-01-01T00:00:01.000Z' }], cursor: 'NEW' });
  await act(async () => socket.fire('resync', { sub: 'srv1', reason: 'history-changed', headSeq: 3 }));
  await vi.waitFor(() => expect(qc.getQueryData<LivePage<Row>>(key)!.cursor).toBe('NEW'));
  expect(queryFn).toHaveBeenCalledTimes(1);
  expect(qc.getQueryData<LivePage<Row>>(key)!.position).toBeUndefined();
  await vi.waitFor(() => expect(subscribes().at(-1)!.payload).toEqual({ channel: 'projects', cursor: 'NEW' }));
});

test('a persisted state older than maxAge (default 7 days) is dropped: the list is read again', async () => {
  const persister = memoryPersister();
  const before = new QueryClient();
  before.setQueryData<LivePage<Row>>(key, { items: [{ id: 'old', name: 'old', createdAt: '2026-01-01T00:00:00.000Z' }], cursor: 'OLD', position: { seq: 4, fp: 'fp-four' } });
  before.getQueryCache().find({ queryKey: key })!.options.meta = { realtimeLive: true };
  // Saved 7 days and a minute ago.
  const now = Date.now();
  const clock = vi.spyOn(Date, 'now').mockReturnValue(now - DEFAULT_PERSIST_MAX_AGE - 60_000);
  await save(before, persister);
  clock.mockRestore();
  expect(persister.stored()!.clientState.queries).toHaveLength(1);

  const qc = new QueryClient();
  await restore(qc, persister);
  expect(qc.getQueryData(key)).toBeUndefined();
  expect(persister.stored()).toBeUndefined();
  await mount(qc);
  expect(queryFn).toHaveBeenCalledTimes(1);
  await vi.waitFor(() => expect(subscribes()[0]?.payload).toEqual({ channel: 'projects', cursor: 'CUR' }));
});
