import { afterEach, describe, expect, test, vi } from 'vitest';
import { createLogger } from '@realtime/runtime';
import { FakeApi, waitFor } from '@realtime/testkit';
import { checkQueueWrites, type QueueOutboxRow } from './checker';
import { FaultyNetwork, defaultNetFaults, noNetFaults, type NetFaults } from './faulty-network';
import { outcomeOf, uuidFrom } from './queue-model';
import { QueueWriter, RESOURCE } from './queue-writer';
import { rng } from './rng';

describe('uuidFrom', () => {
  test('v4 layout, the same for the same seed, distinct within a run', () => {
    const a = Array.from({ length: 2000 }, ((r) => () => uuidFrom(r))(rng(5)));
    const b = Array.from({ length: 2000 }, ((r) => () => uuidFrom(r))(rng(5)));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
    for (const id of a) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

test('outcomeOf', () => {
  expect(['queued', 'sending', 'sent', 'confirmed', 'failed', 'conflict', 'dropped'].map((s) => outcomeOf(s as never))).toEqual(['pending', 'pending', 'succeeded', 'succeeded', 'refused', 'pending', 'dropped']);
});

describe('FaultyNetwork', () => {
  const gateways = ['http://g1', 'http://g2'];
  type Sent = { url: string; cookie: string | null; method: string | undefined };
  const fake = (sent: Sent[], answer: () => Promise<Response> = async () => new Response('{}', { status: 201 })) =>
    (async (url: string | URL | Request, init?: RequestInit) => {
      sent.push({ url: String(url), cookie: new Headers(init?.headers).get('cookie'), method: init?.method });
      return answer();
    }) as typeof fetch;
  const net = (faults: NetFaults, sent: Sent[], answer?: () => Promise<Response>, seed = 1) => {
    const n = new FaultyNetwork(rng(seed), gateways, () => 'rt_session=s', fake(sent, answer));
    n.faults = faults;
    return n;
  };

  test('a healthy request goes to a gateway with the cookie, path and method', async () => {
    const sent: Sent[] = [];
    const n = net(noNetFaults, sent);
    for (let i = 0; i < 20; i++) expect((await n.fetch('http://api.example/api/data-layers/x?y=1', { method: 'PATCH' })).status).toBe(201);
    expect(new Set(sent.map((s) => s.url))).toEqual(new Set(['http://g1/api/data-layers/x?y=1', 'http://g2/api/data-layers/x?y=1']));
    expect(sent.every((s) => s.cookie === 'rt_session=s' && s.method === 'PATCH')).toBe(true);
    expect(n.stats).toMatchObject({ requests: 20, failedBeforeSending: 0, lostResponses: 0, delayed: 0, offline: 0 });
  });

  test('fail: a network error, and the server never sees it', async () => {
    const sent: Sent[] = [];
    const n = net({ ...noNetFaults, fail: 1 }, sent);
    await expect(n.fetch('http://x/api/a', { method: 'POST' })).rejects.toThrow(TypeError);
    expect(sent).toHaveLength(0);
    expect(n.stats.failedBeforeSending).toBe(1);
  });

  test('lose: the server answered, the client gets a network error', async () => {
    const sent: Sent[] = [];
    const n = net({ ...noNetFaults, lose: 1 }, sent);
    await expect(n.fetch('http://x/api/a', { method: 'POST' })).rejects.toThrow(/answer/);
    expect(sent).toHaveLength(1);
    expect(n.stats.lostResponses).toBe(1);
  });

  test('delay: sent, later', async () => {
    vi.useFakeTimers();
    try {
      const sent: Sent[] = [];
      const n = net({ ...noNetFaults, delay: 1, delayMs: [40, 40] }, sent);
      const done = n.fetch('http://x/api/a');
      await vi.advanceTimersByTimeAsync(39);
      expect(sent).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(sent).toHaveLength(1);
      expect(n.stats.delayed).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  test('offline: everything fails unsent until it ends', async () => {
    const sent: Sent[] = [];
    const n = net(noNetFaults, sent);
    n.offlineFor(60_000);
    await expect(n.fetch('http://x/api/a')).rejects.toThrow(/offline/);
    expect(sent).toHaveLength(0);
    n.offlineFor(0);
    await n.fetch('http://x/api/a');
    expect(sent).toHaveLength(1);
    expect(n.stats.offline).toBe(1);
  });

  test('a disconnect while the request is out loses its answer', async () => {
    const sent: Sent[] = [];
    let n: FaultyNetwork;
    const answer = async () => {
      n.offlineFor(10);
      return new Response(null, { status: 204 });
    };
    n = net(noNetFaults, sent, answer);
    await expect(n.fetch('http://x/api/a', { method: 'DELETE' })).rejects.toThrow(/went away/);
    expect(sent).toHaveLength(1);
    expect(n.stats.lostResponses).toBe(1);
  });

  test('pause holds new requests back and waits for those on the wire, even ones the client gave up on', async () => {
    vi.useFakeTimers();
    try {
      const sent: Sent[] = [];
      let finish = () => undefined as void;
      const answer = () => new Promise<Response>((resolve) => (finish = () => resolve(new Response('{}', { status: 200 }))));
      const n = net(noNetFaults, sent, answer);
      const ac = new AbortController();
      const first = n.fetch('http://x/api/a', { signal: ac.signal });
      await vi.advanceTimersByTimeAsync(0);
      expect(sent).toHaveLength(1);
      ac.abort(new Error('given up'));
      await expect(first).rejects.toThrow('given up');
      let paused = false;
      const pausing = n.pause().then(() => (paused = true));
      await vi.advanceTimersByTimeAsync(1000);
      // The abandoned request may still be applied: the pause is not done until it ends.
      expect(paused).toBe(false);
      finish();
      await vi.advanceTimersByTimeAsync(10);
      await pausing;
      const second = n.fetch('http://x/api/b');
      await vi.advanceTimersByTimeAsync(1000);
      expect(sent).toHaveLength(1);
      n.resume();
      await vi.advanceTimersByTimeAsync(0);
      expect(sent).toHaveLength(2);
      finish();
      await second;
      expect(sent.map((s) => s.url)).toEqual([expect.stringMatching(/\/api\/a$/), expect.stringMatching(/\/api\/b$/)]);
    } finally {
      vi.useRealTimers();
    }
  });

  test('a request held back by a pause gives up when its signal aborts', async () => {
    const sent: Sent[] = [];
    const n = net(noNetFaults, sent);
    await n.pause();
    const ac = new AbortController();
    const held = n.fetch('http://x/api/a', { signal: ac.signal });
    ac.abort(new Error('given up'));
    await expect(held).rejects.toThrow('given up');
    expect(sent).toHaveLength(0);
    n.resume();
  });

  test('the same seed makes the same choices', async () => {
    const run = async () => {
      const sent: Sent[] = [];
      const n = net({ ...defaultNetFaults, delayMs: [0, 1] }, sent, undefined, 77);
      const outcomes: string[] = [];
      for (let i = 0; i < 200; i++) outcomes.push(await n.fetch('http://x/api/a').then(() => 'ok', (e: Error) => e.message));
      return { outcomes, urls: sent.map((s) => s.url) };
    };
    const a = await run();
    expect(await run()).toEqual(a);
    expect(new Set(a.outcomes).size).toBe(3);
  });
});

/**
 * A SQL writer behind the API's back: now and then, just before a request for a row is
 * applied, it changes the row (the request then meets a newer version: a conflict) or
 * deletes it (a 404). Driven by the requests, not by a clock, so that every run meets both.
 */
function meddleOnRequests(api: FakeApi, r: ReturnType<typeof rng>): void {
  api.onRequest = (req) => {
    const id = /^\/api\/[a-z-]+\/([^/?]+)$/.exec(req.path)?.[1];
    const row = id === undefined ? undefined : api.table(RESOURCE).get(decodeURIComponent(id));
    if (!row || !r.chance(0.25)) return;
    api.touch(RESOURCE, String(row.id), r.chance(0.3) ? null : { visible: !row.visible }, 'chaos-writer-1');
  };
}

/** The fake API's outbox as the checker reads the real one. */
const outboxOf = (api: FakeApi): QueueOutboxRow[] =>
  api.outbox.map((c) => ({ op: c.op, rowId: c.rowId, name: typeof c.row?.name === 'string' ? c.row.name : null, actor: c.actor, txid: c.txid }));

describe('QueueWriter against a small API', () => {
  let api: FakeApi | null = null;
  let writer: QueueWriter | null = null;
  afterEach(async () => {
    await writer?.close();
    await api?.stop();
  });

  /**
   * A client writing through every fault, fast, while a meddler changes and deletes its
   * rows, until `enough` says its stats have seen what the test needs; then drained and
   * checked. The end is a state, not a duration: a loaded machine only takes longer.
   */
  async function run(a: FakeApi, enough: (w: QueueWriter) => boolean, lose = 0.15) {
    await a.start();
    const w = new QueueWriter({ index: 1, email: 'a@chaos.test', password: 'pw', gateways: [a.url], pinned: ['p1', 'p2'] }, rng(11), createLogger('silent'), () => undefined, {
      tickMs: [2, 10],
      onlineMs: [150, 300],
      offlineMs: [20, 80],
      reloadEveryMs: [100, 250],
      readEveryMs: [50, 150],
    });
    writer = w;
    w.net.faults = { ...defaultNetFaults, fail: 0.1, lose, delayMs: [5, 30] };
    await w.start();
    meddleOnRequests(a, rng(12));
    try {
      await waitFor(() => enough(w), { what: 'the queue writer to meet every fault', timeoutMs: 30_000 });
    } finally {
      await w.stop();
    }
    const drained = await w.drain(Date.now() + 20_000);
    const intended = w.intended();
    return { drained, intended, f: checkQueueWrites(intended, outboxOf(a), [w.actor]), w };
  }

  test('through lost answers, failures, disconnects, reloads and conflicts, every write is applied as often as its queue says', async () => {
    api = new FakeApi({ session: 'rt_session=tok', actor: 'a@chaos.test' });
    const met = (w: QueueWriter) => {
      const refused404 = w.intended().filter((x) => x.outcome === 'refused' && x.status === 404).length;
      const applied = w.intended().filter((x) => x.outcome === 'succeeded').length;
      const { lostResponses, failedBeforeSending } = w.net.stats;
      return applied > 30 && refused404 > 0 && lostResponses > 0 && failedBeforeSending > 0 && w.stats.restarts > 0 && w.stats.disconnects > 0 && w.stats.conflicts > 0;
    };
    const { drained, intended, f, w } = await run(api, met);
    expect(drained).toBe(true);
    expect(f.problems).toEqual([]);
    expect(f.appliedOnce).toBeGreaterThan(30);
    expect(f.appliedOnce + f.refused).toBe(intended.length);
    expect(Object.values(f.byKind).every((n) => n > 0)).toBe(true);
    // The faults did happen.
    expect(w.net.stats.lostResponses).toBeGreaterThan(0);
    expect(w.net.stats.failedBeforeSending).toBeGreaterThan(0);
    expect(w.stats.restarts).toBeGreaterThan(0);
    expect(w.stats.disconnects).toBeGreaterThan(0);
    expect(w.stats.conflicts).toBeGreaterThan(0);
    expect(f.refusals['404']).toBeGreaterThan(0);
  }, 40_000);

  test('an API that ignores the Idempotency-Key is caught applying writes twice', async () => {
    api = new FakeApi({ session: 'rt_session=tok', actor: 'a@chaos.test', idempotent: false });
    // Half the answers lost: every run has retries of writes the server already applied.
    const { f, w } = await run(api, (x) => x.net.stats.lostResponses > 5 && x.stats.retries > 5 && x.stats.restarts > 0, 0.5);
    expect(w.net.stats.lostResponses).toBeGreaterThan(5);
    expect(f.twice + f.refusedApplied).toBeGreaterThan(0);
    expect(f.problems.length).toBeGreaterThan(0);
  }, 40_000);
});
