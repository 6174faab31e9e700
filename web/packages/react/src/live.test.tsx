// @vitest-environment happy-dom
// The hooks' lifecycle against a fake socket: mounting subscribes with the list's
// cursor, changes land in the TanStack Query cache in order (duplicates ignored, one
// setQueryData per batch), resync refetches (and tells the app), unmounting
// unsubscribes; a plain array subscribes from now and reads the list again; a shape the
// hook cannot read is said on the console.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ChangeEvent, ChangesEvent } from '@realtime/protocol';
import { RealtimeClient } from '@realtime/client';
import { FakeSocket } from '@realtime/client/testing';
import { projects } from '@realtime/db/schema';
import { RealtimeProvider, useLiveQuery, useLiveSubscription, type ListAdapter, type Wire } from './index.js';

interface ListData {
  items: Record<string, unknown>[];
  cursor: string;
  page: { limit: number; offset: number; nextOffset: number | null };
}
const onResync = vi.fn();

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
  useLiveSubscription<{ id: string; projectId: string }>({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, queryKey: key, onResync });
  return null;
}

beforeEach(() => {
  onResync.mockReset();
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
  expect(sub.payload).toEqual({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, cursor: 'CUR' });
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

  // A resync marks the list stale so that it is fetched again.
  const invalidate = vi.spyOn(qc, 'invalidateQueries');
  await act(async () => socket.fire('resync', { sub: 'srv1', reason: 'retention', headSeq: 9 }));
  expect(invalidate).toHaveBeenCalledWith({ queryKey: key, exact: true });
  expect(onResync).toHaveBeenCalledWith('retention');
});

test('a membership resync refetches the list and tells the app (its roles changed with it)', async () => {
  const client = new RealtimeClient(socket);
  await mount(client);
  const invalidate = vi.spyOn(qc, 'invalidateQueries');
  await act(async () => {
    socket.sent.find((s) => s.event === 'subscribe')!.ack!({ ok: true, id: 'srv1', headSeq: 0 });
    socket.fire('resync', { sub: 'srv1', reason: 'membership', headSeq: 4 });
  });
  expect(invalidate.mock.calls.map(([filters]) => filters)).toEqual([{ queryKey: key, exact: true }]);
  expect(onResync).toHaveBeenCalledWith('membership');
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
    expect(again.payload).toEqual({ channel: 'extraction_jobs', filter: { projectId: 'p1' }, since: 5, cursor: 'CUR' });
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

test('one setQueryData per delivered batch, however many changes it holds', async () => {
  const client = new RealtimeClient(socket);
  await mount(client);
  const set = vi.spyOn(qc, 'setQueryData');
  const batch = (seqs: number[]): ChangesEvent => ({
    sub: 'srv1',
    channel: 'extraction_jobs',
    changes: seqs.map((seq) => ({ seq, op: 'INSERT' as const, row: { id: `j${seq}`, projectId: 'p1' }, old: null, committedAt: '' })),
  });
  await act(async () => {
    socket.sent.find((s) => s.event === 'subscribe')!.ack!({ ok: true, id: 'srv1', headSeq: 0 });
    socket.fire('changes', batch([1, 2, 3]));
    socket.fire('changes', batch([4, 5]));
  });
  expect(set).toHaveBeenCalledTimes(2);
  expect(qc.getQueryData<ListData>(key)!.items.map((r) => r.id)).toEqual(['j5', 'j4', 'j3', 'j2', 'j1', 'j0']);
});

test('a primary key changed by an UPDATE: the old key leaves the cache, the new row takes its place', async () => {
  const client = new RealtimeClient(socket);
  await mount(client);
  await act(async () => {
    socket.sent.find((s) => s.event === 'subscribe')!.ack!({ ok: true, id: 'srv1', headSeq: 0 });
    socket.fire('changes', {
      sub: 'srv1',
      channel: 'extraction_jobs',
      changes: [{ seq: 1, op: 'UPDATE', row: { id: 'j9', projectId: 'p1', progress: 7 }, old: { id: 'j0', projectId: 'p1', progress: 0 }, committedAt: '' }],
    });
  });
  expect(qc.getQueryData<ListData>(key)!.items).toEqual([{ id: 'j9', projectId: 'p1', progress: 7 }]);
});

interface Project {
  id: string;
  name: string;
  createdAt: string;
}

function PlainList({ fetch }: { fetch: () => Promise<Project[]> }) {
  useLiveQuery<Project>({ channel: 'projects', queryKey: ['plain'], queryFn: fetch, filter: { name: 'x' } });
  return null;
}

test('a plain array: subscribes from now, reads the list again after the ack, and keeps what came meanwhile', async () => {
  const client = new RealtimeClient(socket);
  let release: (rows: Project[]) => void = () => undefined;
  const fetch = vi
    .fn<() => Promise<Project[]>>()
    .mockResolvedValueOnce([{ id: 'a', name: 'x', createdAt: '1' }])
    .mockImplementationOnce(() => new Promise((r) => (release = r)));
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <PlainList fetch={fetch} />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
  await act(async () => new Promise((r) => setTimeout(r, 0)));
  const sub = socket.sent.find((s) => s.event === 'subscribe')!;
  expect(sub.payload).toEqual({ channel: 'projects', filter: { name: 'x' } });
  await act(async () => {
    sub.ack!({ ok: true, id: 'srv1', headSeq: 40 });
  });
  expect(fetch).toHaveBeenCalledTimes(2);
  // Committed after the second read began: it must survive that read's older result.
  await act(async () => {
    socket.fire('changes', { sub: 'srv1', channel: 'projects', changes: [{ seq: 41, op: 'INSERT', row: { id: 'b', name: 'x', createdAt: '2' }, old: null, committedAt: '' }] });
  });
  await act(async () => {
    release([{ id: 'a', name: 'x', createdAt: '1' }]);
    await new Promise((r) => setTimeout(r, 0));
  });
  expect(qc.getQueryData<Project[]>(['plain'])!.map((r) => r.id).sort()).toEqual(['a', 'b']);
  // A reconnect resumes from the last seq it applied.
  vi.useFakeTimers();
  try {
    socket.connected = false;
    await act(async () => socket.fire('disconnect'));
    await act(async () => vi.advanceTimersByTime(1000));
    expect(socket.sent.filter((s) => s.event === 'subscribe').at(-1)!.payload).toEqual({ channel: 'projects', filter: { name: 'x' }, since: 41 });
  } finally {
    vi.useRealTimers();
  }
});

test('a shape the hook cannot read is said on the console, not silently left unsubscribed', async () => {
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const client = new RealtimeClient(socket);
  qc.setQueryData(['odd'], { rows: [] });
  function Odd() {
    useLiveSubscription({ channel: 'projects', queryKey: ['odd'] });
    return null;
  }
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <Odd />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
  expect(socket.count('subscribe')).toBe(0);
  expect(error.mock.calls[0]![0]).toMatch(/neither an array of rows nor \{ items, cursor\? \}.*adapter/);
  error.mockRestore();
});

test('any other shape through an adapter, its cursor included', async () => {
  interface Odd {
    rows: Project[];
    streamCursor: string;
  }
  const adapter: ListAdapter<Project, Odd> = { toRows: (d) => d.rows, fromRows: (d, rows) => ({ ...d, rows }), cursorOf: (d) => d.streamCursor };
  qc.setQueryData<Odd>(['odd'], { rows: [], streamCursor: 'C9' });
  function OddList() {
    useLiveSubscription<Project, Odd>({ channel: 'projects', queryKey: ['odd'], adapter });
    return null;
  }
  const client = new RealtimeClient(socket);
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <OddList />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
  const sub = socket.sent.find((s) => s.event === 'subscribe')!;
  expect(sub.payload).toEqual({ channel: 'projects', cursor: 'C9' });
  await act(async () => {
    sub.ack!({ ok: true, id: 'srv1', headSeq: 0 });
    socket.fire('changes', { sub: 'srv1', channel: 'projects', changes: [{ seq: 1, op: 'INSERT', row: { id: 'n', name: 'n', createdAt: '3' }, old: null, committedAt: '' }] });
  });
  expect(qc.getQueryData<Odd>(['odd'])).toEqual({ rows: [{ id: 'n', name: 'n', createdAt: '3' }], streamCursor: 'C9' });
});

test("drizzle's $inferSelect as the row: Wire<> for the wire's strings, or parse to its Dates", async () => {
  type Project = typeof projects.$inferSelect;
  const seen: { wire?: string; parsed?: Date } = {};
  function Drizzle() {
    const wire = useLiveQuery<Wire<Project>>({ channel: 'projects', queryKey: ['dz-wire'], queryFn: async () => [], filter: { name: 'x' } });
    const parsed = useLiveQuery<Project>({
      channel: 'projects',
      queryKey: ['dz-date'],
      queryFn: async (): Promise<Project[]> => [],
      parse: (r) => ({ ...(r as unknown as Project), createdAt: new Date(String(r.createdAt)), updatedAt: new Date(String(r.updatedAt)) }),
    });
    seen.wire = wire.data?.[0]?.createdAt;
    seen.parsed = parsed.data?.[0]?.createdAt;
    return null;
  }
  const client = new RealtimeClient(socket);
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <Drizzle />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
  await act(async () => new Promise((r) => setTimeout(r, 0)));
  const subs = socket.sent.filter((s) => s.event === 'subscribe');
  const row = { id: 'p1', name: 'x', description: null, status: 'active', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
  await act(async () => {
    subs.forEach((s, i) => s.ack!({ ok: true, id: `srv${i}`, headSeq: 0 }));
    await new Promise((r) => setTimeout(r, 0));
    subs.forEach((_s, i) => socket.fire('changes', { sub: `srv${i}`, channel: 'projects', changes: [{ seq: 1, op: 'INSERT', row, old: null, committedAt: '' }] }));
  });
  // Until React has rendered the change, however long a loaded machine takes.
  await vi.waitFor(() => {
    expect(seen.wire).toBe('2026-01-01T00:00:00.000Z');
    expect(seen.parsed).toBeInstanceOf(Date);
  });
});

test('a socket merely down polls nothing; after 2 minutes of failed attempts the list is read once a minute, and no more once it is back', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  try {
    const down = new FakeSocket();
    // No window events here: the attempts are the backoff's alone.
    const client = new RealtimeClient(down, { environment: {}, random: () => 0.5 });
    let reads = 0;
    const listKey = ['polled'];
    function Polled() {
      useLiveQuery<{ id: string }, { items: { id: string }[]; cursor: string }>({
        channel: 'projects',
        queryKey: listKey,
        queryFn: async () => {
          reads++;
          return { items: [], cursor: `C${reads}` };
        },
      });
      return null;
    }
    await act(async () => {
      root.render(
        <QueryClientProvider client={qc}>
          <RealtimeProvider client={client}>
            <Polled />
          </RealtimeProvider>
        </QueryClientProvider>,
      );
    });
    await act(async () => {
      down.up();
      await vi.advanceTimersByTimeAsync(10);
    });
    expect(reads).toBe(1);
    await act(async () => {
      down.down();
    });
    // Every attempt fails, as on a network that is gone.
    let answered = down.connects;
    const failEach = async (ms: number) => {
      for (let t = 0; t < ms; t += 500) {
        await act(async () => {
          await vi.advanceTimersByTimeAsync(500);
          if (!down.connected && down.connects > answered) {
            answered = down.connects;
            down.fire('connect_error', new Error('offline'));
          }
        });
      }
    };
    await failEach(119_000);
    expect(client.connection.status).toBe('offline');
    expect(reads).toBe(1);
    await failEach(62_000);
    expect(reads).toBe(2);
    await failEach(60_000);
    expect(reads).toBe(3);
    await act(async () => {
      down.up();
      await vi.advanceTimersByTimeAsync(10);
    });
    await failEach(180_000);
    expect(reads).toBe(3);
  } finally {
    vi.useRealTimers();
  }
});

test('a list cut at its page size (page.next set): said once in development, and an update of a row beyond it is ignored', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  const cutKey = ['cut', 'jobs'];
  qc.setQueryData(cutKey, { items: [{ id: 'j2', createdAt: '2026-01-02T00:00:00.000Z' }], cursor: 'CUT', page: { next: 'after-j2', total: 2 } });
  function Cut() {
    useLiveSubscription<{ id: string; createdAt: string }>({ channel: 'extraction_jobs', queryKey: cutKey });
    return null;
  }
  const client = new RealtimeClient(socket);
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <Cut />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
  await act(async () => {
    socket.sent.find((s) => s.event === 'subscribe')!.ack!({ ok: true, id: 'srv1', headSeq: 0 });
    socket.fire('changes', { sub: 'srv1', channel: 'extraction_jobs', changes: [{ seq: 1, op: 'UPDATE', row: { id: 'j1', createdAt: '2026-01-01T00:00:00.000Z', name: 'renamed' }, old: { id: 'j1' }, committedAt: '' }] });
  });
  expect(qc.getQueryData<{ items: { id: string }[] }>(cutKey)!.items.map((r) => r.id)).toEqual(['j2']);
  // Remounted (and the same list read again): still said only once.
  act(() => root.unmount());
  root = createRoot(container);
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <RealtimeProvider client={client}>
          <Cut />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
  });
  const said = warn.mock.calls.filter(([m]) => String(m).includes('cut at its page size'));
  expect(said).toHaveLength(1);
  expect(String(said[0]![0])).toMatch(/\["cut","jobs"\].*useLiveInfiniteQuery/);
  warn.mockRestore();
});
