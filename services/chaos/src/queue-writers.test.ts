import { describe, expect, test, vi } from 'vitest';
import { FaultyNetwork, defaultNetFaults, noNetFaults, type NetFaults } from './faulty-network';
import { outcomeOf, uuidFrom } from './queue-model';
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
