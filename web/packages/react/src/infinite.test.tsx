// @vitest-environment happy-dom
// useLiveInfiniteQuery against the client's fake socket: the first page and its cursor,
// fetchNextPage until hasNextPage is false, changes moving rows in and out of the window
// (and one beyond its end ignored), the seam of a page read while changes arrive, one
// setQueryData per batch whatever its size, a resync back to the first page, and a
// persisted window resumed from its position without reading a page.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { persistQueryClientRestore, persistQueryClientSave, type PersistedClient, type Persister } from '@tanstack/query-persist-client-core';
import type { Change, ListOrder, ListPage, PageSnapshot } from '@realtime/protocol';
import { RealtimeClient } from '@realtime/client';
import { FakeSocket } from '@realtime/client/testing';
import { livePersistOptions, RealtimeProvider, useLiveInfiniteQuery, type LiveInfiniteData, type LiveInfiniteQueryResult } from './index.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

type Job = { id: string; v: number; projectId: string };
const key = ['jobs', 'p1'];
const order: ListOrder = { by: 'v', desc: false, key: 'id' };
const job = (id: string, v: number): Job => ({ id, v, projectId: 'p1' });
const snap = (head: number): PageSnapshot => ({ head, xmin: '1', xmax: '1', xip: [] });
const page = (items: Job[], next: string | null, total: number, head: number, cursor = 'C1'): ListPage<Job> => ({ items, cursor, page: { next, total, limit: 3, order, snapshot: snap(head) } });

// The table (ascending by v): three pages of three rows, eight in all.
const pages: Record<string, ListPage<Job>> = {
  first: page([job('a', 10), job('b', 20), job('c', 30)], 'after-c', 8, 5),
  'after-c': page([job('d', 40), job('e', 50), job('f', 60)], 'after-f', 8, 6, 'C2'),
  'after-f': page([job('g', 70), job('h', 80)], null, 8, 7, 'C3'),
};

let container: HTMLElement;
let root: Root;
let socket: FakeSocket;
let qc: QueryClient;
let fetchPage: ReturnType<typeof vi.fn<(p: { after: string | null; signal: AbortSignal }) => Promise<ListPage<Job>>>>;
let result: LiveInfiniteQueryResult<Job>;

function Jobs() {
  result = useLiveInfiniteQuery<Job>({ channel: 'extraction_jobs', queryKey: key, filter: { projectId: 'p1' }, fetchPage });
  return null;
}

async function mount(client = new RealtimeClient(socket)): Promise<void> {
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <Jobs />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
}

const subscribes = () => socket.sent.filter((s) => s.event === 'subscribe');
const rows = () => result.rows.map((r) => `${r.id}:${r.v}`);
const cached = () => qc.getQueryData<LiveInfiniteData<Job>>(key)!;
const pageRows = () => cached().pages.map((p) => p.items.map((r) => r.id).join(''));
/** Until React has rendered what the cache holds (TanStack tells its observers on a later tick). */
const rendered = () => vi.waitFor(() => expect(result.data).toBe(qc.getQueryData(key)));
async function fire(...changes: Change[]): Promise<void> {
  await act(async () => socket.fire('changes', { sub: 'srv1', channel: 'extraction_jobs', changes }));
  await rendered();
}
const ins = (seq: number, row: Job): Change => ({ seq, op: 'INSERT', row, old: null, committedAt: '', fp: `fp${seq}` });
const upd = (seq: number, row: Job, old: Job): Change => ({ seq, op: 'UPDATE', row, old, committedAt: '', fp: `fp${seq}` });

async function open(): Promise<void> {
  await mount();
  await vi.waitFor(() => expect(subscribes()).toHaveLength(1));
  await act(async () => subscribes()[0]!.ack!({ ok: true, id: 'srv1', headSeq: 5 }));
}

async function next(): Promise<void> {
  await act(async () => {
    await result.fetchNextPage();
  });
  await rendered();
}

beforeEach(() => {
  container = document.createElement('div');
  root = createRoot(container);
  socket = new FakeSocket(true);
  qc = new QueryClient();
  fetchPage = vi.fn(async ({ after }) => pages[after ?? 'first']!);
});
afterEach(() => {
  act(() => root.unmount());
});

test('the first page, subscribed with its cursor; fetchNextPage to the end, where hasNextPage is false', async () => {
  await open();
  expect(subscribes()[0]!.payload).toEqual({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, cursor: 'C1' });
  expect(rows()).toEqual(['a:10', 'b:20', 'c:30']);
  expect([result.total, result.hasNextPage]).toEqual([8, true]);
  await next();
  expect(rows()).toEqual(['a:10', 'b:20', 'c:30', 'd:40', 'e:50', 'f:60']);
  expect(result.hasNextPage).toBe(true);
  await next();
  expect(rows()).toHaveLength(8);
  expect(result.hasNextPage).toBe(false);
  expect(fetchPage.mock.calls.map(([p]) => p.after)).toEqual([null, 'after-c', 'after-f']);
  // Still the first page's cursor: one subscription for the whole window.
  expect(subscribes()).toHaveLength(1);
});

test('a change moves a row into the window and another out of it; each page keeps the rows of its own range', async () => {
  await open();
  await next();
  expect(pageRows()).toEqual(['abc', 'def']);
  // h (80, beyond the end at f 60) moves to 25; b (20) moves past the end to 90.
  await fire(upd(6, job('h', 25), job('h', 80)), upd(7, job('b', 90), job('b', 20)));
  expect(rows()).toEqual(['a:10', 'h:25', 'c:30', 'd:40', 'e:50', 'f:60']);
  expect(pageRows()).toEqual(['ahc', 'def']);
  // d (40) moves into the first page's range.
  await fire(upd(8, job('d', 5), job('d', 40)));
  expect(pageRows()).toEqual(['dahc', 'ef']);
  expect(result.total).toBe(8);
});

test('a change beyond the end is ignored, never put at the front; the total still counts it', async () => {
  await open();
  const before = result.rows;
  await fire(ins(6, job('z', 99)), upd(7, job('g', 75), job('g', 70)));
  expect(result.rows).toBe(before);
  expect(result.total).toBe(9);
});

test('one setQueryData per batch, a batch of 5,000 changes too', async () => {
  await open();
  const set = vi.spyOn(qc, 'setQueryData');
  await fire(ins(6, job('x', 15)), ins(7, job('y', 16)));
  expect(set).toHaveBeenCalledTimes(1);
  const many = Array.from({ length: 5000 }, (_, i) => ins(8 + i, job(`n${String(i).padStart(4, '0')}`, 11 + (i % 19))));
  await fire(...many);
  expect(set).toHaveBeenCalledTimes(2);
  expect(result.rows).toHaveLength(3 + 2 + 5000);
  expect(result.total).toBe(8 + 2 + 5000);
});

test('changes that arrive while the next page is read are held and applied across the seam, none lost or doubled', async () => {
  await open();
  let release: () => void = () => undefined;
  // The next page, read at head 6: it holds seq 6 (w inserted) but not seq 9.
  const read = page([job('d', 40), job('w', 42), job('e', 50)], 'after-e', 9, 6, 'C2');
  fetchPage.mockImplementationOnce(() => new Promise((r) => (release = () => r(read))));
  let loading!: Promise<unknown>;
  await act(async () => {
    loading = result.fetchNextPage();
  });
  const set = vi.spyOn(qc, 'setQueryData');
  await act(async () => socket.fire('changes', { sub: 'srv1', channel: 'extraction_jobs', changes: [ins(6, job('w', 42))] }));
  await act(async () => socket.fire('changes', { sub: 'srv1', channel: 'extraction_jobs', changes: [ins(9, job('x', 45))] }));
  // Held back: TanStack appends the page to the pages as they were when it was asked for.
  expect(set).not.toHaveBeenCalled();
  await act(async () => {
    release();
    await loading;
  });
  await rendered();
  expect(rows()).toEqual(['a:10', 'b:20', 'c:30', 'd:40', 'w:42', 'x:45', 'e:50']);
  expect(pageRows()).toEqual(['abc', 'dwxe']);
  // w counted once (the page's total has it), x once (the page lacks it).
  expect(result.total).toBe(10);
  await fire(ins(10, job('y', 46)));
  expect(result.total).toBe(11);
  expect(rows()).toContain('y:46');
});

test('a resync goes back to the first page and follows its new cursor', async () => {
  await open();
  await next();
  await fire(ins(6, job('x', 15)));
  fetchPage.mockImplementationOnce(async () => page([job('q', 1), job('a', 10), job('b', 20)], 'after-b', 9, 12, 'C9'));
  await act(async () => socket.fire('resync', { sub: 'srv1', reason: 'history-changed', headSeq: 12 }));
  await vi.waitFor(() => expect(cached().pages[0]!.cursor).toBe('C9'));
  // The cache first, then the render that shows it.
  await rendered();
  expect(cached().pages).toHaveLength(1);
  expect(rows()).toEqual(['q:1', 'a:10', 'b:20']);
  expect(fetchPage.mock.calls.at(-1)![0].after).toBeNull();
  await vi.waitFor(() => expect(subscribes().at(-1)!.payload).toEqual({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, cursor: 'C9' }));
});

test('a persisted window resumes from its position without reading a page', async () => {
  let slot: string | undefined;
  const persister: Persister = {
    persistClient: (c) => void (slot = JSON.stringify(c)),
    restoreClient: () => (slot === undefined ? undefined : (JSON.parse(slot) as PersistedClient)),
    removeClient: () => void (slot = undefined),
  };
  await open();
  await next();
  await fire(upd(7, job('h', 25), job('h', 80)));
  await persistQueryClientSave({ ...livePersistOptions({ persister }), queryClient: qc });
  act(() => root.unmount());

  root = createRoot(container);
  socket = new FakeSocket(true);
  qc = new QueryClient();
  fetchPage.mockClear();
  await persistQueryClientRestore({ ...livePersistOptions({ persister }), queryClient: qc });
  await mount();
  await vi.waitFor(() => expect(subscribes()).toHaveLength(1));
  expect(subscribes()[0]!.payload).toEqual({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, cursor: 'C1', since: 7, fp: 'fp7' });
  expect(rows()).toEqual(['a:10', 'b:20', 'h:25', 'c:30', 'd:40', 'e:50', 'f:60']);
  expect([result.total, result.hasNextPage]).toEqual([8, true]);
  await act(async () => subscribes()[0]!.ack!({ ok: true, id: 'srv1', headSeq: 8 }));
  await fire(upd(8, job('a', 65), job('a', 10)));
  expect(rows()).toEqual(['b:20', 'h:25', 'c:30', 'd:40', 'e:50', 'f:60']);
  // The next page still joins at the recorded end.
  await next();
  expect(fetchPage.mock.calls.map(([p]) => p.after)).toEqual(['after-f']);
  expect(fetchPage).toHaveBeenCalledTimes(1);
});

test('a resync whose first page comes back with the same cursor still subscribes anew, from that cursor', async () => {
  await open();
  await fire(ins(6, job('x', 15)));
  await act(async () => socket.fire('resync', { sub: 'srv1', reason: 'retention', headSeq: 6 }));
  await vi.waitFor(() => expect(subscribes()).toHaveLength(2));
  expect(subscribes()[1]!.payload).toEqual({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, cursor: 'C1' });
  await rendered();
  expect(rows()).toEqual(['a:10', 'b:20', 'c:30']);
});

test('a refetch reads the first page only and follows its cursor', async () => {
  await open();
  await next();
  await next();
  fetchPage.mockClear();
  fetchPage.mockImplementationOnce(async () => page([job('a', 10), job('b', 20), job('c', 30)], 'after-c', 8, 30, 'C30'));
  await act(async () => {
    await result.refetch();
  });
  await rendered();
  expect(fetchPage.mock.calls.map(([p]) => p.after)).toEqual([null]);
  expect(cached().pages).toHaveLength(1);
  expect(result.hasNextPage).toBe(true);
  await vi.waitFor(() => expect(subscribes().at(-1)!.payload).toEqual({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, cursor: 'C30' }));
});
