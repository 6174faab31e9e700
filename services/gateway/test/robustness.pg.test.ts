// Bad input, many gateways, slow clients and cleanup: 10,000 random and malformed
// messages never disturb a well-behaved client; two gateways with no shared state serve
// the same stream; a client that does not read gets resync, not unbounded memory.
import { describe, expect, test } from 'vitest';
import { FLOOR_SQL } from '@realtime/db';
import { Received, expectedSeqs, jobChurn, newProject, startGateway, token, useStack, waitFor } from './helpers';

const stack = useStack({ maxSubscriptions: 5 });
const { client, settled } = stack;

/** A deterministic generator, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function junk(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 12);
  switch (k) {
    case 0: return null;
    case 1: return Math.floor(r() * 2 ** 40) * (r() < 0.5 ? -1 : 1);
    case 2: return r() * 1e6;
    // Past the 16 KB message bound, but rarely enough that no message passes the transport's 64 KB.
    case 3: return 'x'.repeat(Math.floor(r() * (r() < 0.05 ? 20_000 : 50)));
    case 4: return r() < 0.5;
    case 5: return depth > 2 ? [] : Array.from({ length: Math.floor(r() * 4) }, () => junk(r, depth + 1));
    case 6: return depth > 2 ? {} : Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [['channel', 'filter', 'since', 'cursor', 'id', '__proto__', `k${i}`][Math.floor(r() * 7)]!, junk(r, depth + 1)]));
    case 7: return { channel: ['projects', 'nope', 'extraction_jobs', ''][Math.floor(r() * 4)], filter: { [['project_id', 'nope', 'Bad-Col', 'id'][Math.floor(r() * 4)]!]: junk(r, 3) } };
    case 8: return { channel: 'projects', since: junk(r, 3) };
    case 9: return { channel: 'extraction_jobs', cursor: junk(r, 3) };
    case 10: return { id: junk(r, 3) };
    default: return undefined;
  }
}

describe('bad input', () => {
  test('10,000 random and malformed messages: error acks, the connection stays up, a good client is served throughout', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    process.stdout.write(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)\n`);
    const r = rng(seed);
    const p = await newProject(stack.pool, 'F');
    const good = new Received(await client());
    expect(await good.subscribe({ channel: 'extraction_jobs', filter: { project_id: p } })).toMatchObject({ ok: true });
    const start = stack.gw.feed.position;
    const fuzzer = await client();
    let disconnected = false;
    fuzzer.on('disconnect', () => (disconnected = true));
    const signal = { stop: false };
    const writing = jobChurn(stack.db.url, [p], { changes: 1_000_000, writers: 2, signal });

    const events = ['subscribe', 'unsubscribe', 'hello', 'changes', 'live', 'resync', '', 'constructor', '__proto__', 'x'.repeat(300)];
    const codes = new Map<string, number>();
    let acked = 0;
    for (let i = 0; i < 10_000; i++) {
      const event = events[Math.floor(r() * events.length)]!;
      const args = Array.from({ length: Math.floor(r() * 3) }, () => junk(r));
      const withAck = r() < 0.8;
      const raw = fuzzer as unknown as { emit: (e: string, ...a: unknown[]) => void; timeout: (ms: number) => { emitWithAck: (e: string, ...a: unknown[]) => Promise<{ ok: boolean; error?: { code: string; message: string }; id?: string }> } };
      if (withAck && i % 10 === 0) {
        const res = await raw.timeout(5000).emitWithAck(event, ...args).catch(() => null);
        if (res) {
          acked++;
          const code = res.ok ? 'OK' : res.error!.code;
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (!res.ok) expect(res.error!.message.length).toBeGreaterThan(5);
          if (res.ok && res.id) raw.emit('unsubscribe', { id: res.id }, () => undefined);
        }
      } else {
        raw.emit(event, ...args, ...(withAck ? [() => undefined] : []));
      }
      if (i % 500 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    signal.stop = true;
    await writing;
    const end = await settled();
    expect(disconnected).toBe(false);
    expect(fuzzer.connected).toBe(true);
    expect(acked).toBeGreaterThan(500);
    expect(codes.get('BAD_REQUEST') ?? 0).toBeGreaterThan(100);
    const expected = (await expectedSeqs(stack.pool, 'extraction_jobs', 'project_id', p)).filter((s) => s > start && s <= end);
    await waitFor('the good client to be served', () => good.lastSeq === expected.at(-1));
    expect(good.seqs).toEqual(expected);
    expect(stack.gw.gateway.stats().badMessages).toBeGreaterThan(1000);
  });

  test.each([
    ['unknown channel', { channel: 'secrets' }, 'UNKNOWN_CHANNEL', /unknown channel "secrets"/],
    ['unknown filter column', { channel: 'extraction_jobs', filter: { owner: 'x' } }, 'BAD_REQUEST', /unknown column "owner"/],
    ['wrong type', { channel: 'projects', since: 'yesterday' }, 'BAD_REQUEST', /since/],
    ['oversized', { channel: 'projects', filter: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`c${i}`, 'y'.repeat(200)])), pad: 'z'.repeat(20_000) }, 'BAD_REQUEST', /larger than/],
  ])('%s gets %s naming the problem', async (_name, req, code, message) => {
    const c = await client();
    const ack = await c.timeout(5000).emitWithAck('subscribe', req as never);
    expect(ack).toMatchObject({ ok: false, error: { code, message: expect.stringMatching(message) } });
    expect(c.connected).toBe(true);
  });

  test('too many subscriptions on one socket', async () => {
    const c = new Received(await client());
    for (let i = 0; i < 5; i++) expect(await c.subscribe({ channel: 'projects' })).toMatchObject({ ok: true });
    expect(await c.subscribe({ channel: 'projects' })).toMatchObject({ ok: false, error: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
    const ack = await c.socket.timeout(5000).emitWithAck('unsubscribe', { id: c.id });
    expect(ack).toEqual({ ok: true });
    expect(await c.subscribe({ channel: 'projects' })).toMatchObject({ ok: true });
    expect(await c.socket.timeout(5000).emitWithAck('unsubscribe', { id: 'nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

describe('many gateways, slow clients, cleanup', () => {
  test('two gateways without in-process rows serve their clients every matching change', async () => {
    const other = await startGateway(stack.db.url);
    try {
      const p = await newProject(stack.pool, 'TG');
      const one = new Received(await client());
      const two = new Received(await client(token(), other.port));
      await one.subscribe({ channel: 'extraction_jobs', filter: { project_id: p } });
      await two.subscribe({ channel: 'extraction_jobs', filter: { project_id: p } });
      await settled(other);
      const start = other.feed.position;
      await jobChurn(stack.db.url, [p], { changes: 800, writers: 3 });
      const end = await settled(other);
      const expected = (await expectedSeqs(stack.pool, 'extraction_jobs', 'project_id', p)).filter((s) => s > start && s <= end);
      await waitFor('both clients', () => one.lastSeq === expected.at(-1) && two.lastSeq === expected.at(-1));
      expect(one.seqs.filter((s) => s > start)).toEqual(expected);
      expect(two.seqs).toEqual(expected);
    } finally {
      await other.stop();
    }
  });

  test('a client that stops reading gets resync once its queue passes the bound; others are unaffected', async () => {
    // A grace and a heartbeat longer than the test: on a loaded machine the writes below can
    // outlast both defaults, and a socket closed for not reading (by the stalled-socket grace,
    // or a pong it could not send) would never read its resync.
    const small = await startGateway(stack.db.url, {
      replicator: stack.replicator,
      limits: { queueBytes: 2 * 1024 * 1024, slowClientMs: 120_000 },
      heartbeat: { pingInterval: 60_000, pingTimeout: 60_000 },
    });
    try {
      const p = await newProject(stack.pool, 'SL');
      // The project's own INSERT reaches the gateway before the clients subscribe live.
      await settled(small);
      const slow = new Received(await client(token(), small.port));
      const fast = new Received(await client(token(), small.port));
      await slow.subscribe({ channel: 'projects', filter: { id: p } });
      await fast.subscribe({ channel: 'projects', filter: { id: p } });
      // Stop reading: once the kernel's buffers are full, the gateway's queue grows.
      const engine = (slow.socket.io as unknown as { engine: { transport: { ws?: { _socket?: { pause(): void; resume(): void } } } } }).engine;
      engine.transport.ws?._socket?.pause();
      const big = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 300; i++) await stack.pool.query(`UPDATE projects SET description = $1 WHERE id = $2`, [`${i}${big}`, p]);
      await settled(small);
      await waitFor('the fast client', async () => fast.lastSeq === (await expectedSeqs(stack.pool, 'projects', 'id', p)).at(-1));
      expect(fast.changes).toHaveLength(300);
      engine.transport.ws?._socket?.resume();
      await waitFor('the slow client to be told to resync', () => slow.resyncs.length > 0, 15_000);
      expect(slow.resyncs[0]).toMatchObject({ reason: 'slow-client' });
      expect(small.gateway.stats().resyncs).toBeGreaterThan(0);
    } finally {
      await small.stop();
    }
  });

  test('a client that goes on not reading after its resync is closed, and its buffers go with it', async () => {
    const small = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { queueBytes: 1024 * 1024, slowClientMs: 1000 } });
    try {
      const p = await newProject(stack.pool, 'SC');
      const stalled = new Received(await client(token(), small.port));
      const reader = new Received(await client(token(), small.port));
      await stalled.subscribe({ channel: 'projects', filter: { id: p } });
      await reader.subscribe({ channel: 'projects', filter: { id: p } });
      let gone = false;
      stalled.socket.on('disconnect', () => (gone = true));
      const engine = (stalled.socket.io as unknown as { engine: { transport: { ws?: { _socket?: { pause(): void; resume(): void } } } } }).engine;
      engine.transport.ws?._socket?.pause();
      const big = 'y'.repeat(64 * 1024);
      for (let i = 0; i < 300; i++) await stack.pool.query(`UPDATE projects SET description = $1 WHERE id = $2`, [`${i}${big}`, p]);
      await settled(small);
      // Still paused: the gateway gave up on it, then closed it.
      await waitFor('the stalled socket closed by the gateway', () => small.gateway.stats().sockets === 1, 20_000);
      expect(small.gateway.stats().subscriptions).toBe(1);
      engine.transport.ws?._socket?.resume();
      await waitFor('the client to learn it was closed', () => gone, 15_000);
      expect(reader.socket.connected).toBe(true);
    } finally {
      await small.stop();
    }
  });

  test('a subscribe that fails on the database is refused and leaves nothing behind: no live changes under an id the client never got', async () => {
    let failing = true;
    const flaky = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { queueBytes: 16 * 1024 }, failQuery: (sql) => failing && sql.includes(FLOOR_SQL) });
    try {
      const p = await newProject(stack.pool, 'FL');
      const c = new Received(await client(token(), flaky.port));
      const ids: string[] = [];
      for (const kind of ['changes', 'live', 'resync'] as const) c.socket.on(kind, (e: { sub: string }) => ids.push(e.sub));
      const ack = await c.subscribe({ channel: 'projects', filter: { id: p }, since: 0 });
      expect(ack).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
      expect(flaky.gateway.stats().subscriptions).toBe(0);
      // More changes than the queue bound: a subscription left behind would now be resynced.
      for (let i = 0; i < 10; i++) await stack.pool.query(`UPDATE projects SET name = $1 WHERE id = $2`, [`after the refusal ${i}`, p]);
      const end = await settled(flaky);
      expect(ids).toEqual([]);
      failing = false;
      // The retry the error asks for works, and only its own id carries changes.
      const again = await c.subscribe({ channel: 'projects', filter: { id: p }, since: 0 });
      expect(again).toMatchObject({ ok: true });
      await waitFor('the retried subscription', () => c.lastSeq === end);
      expect(new Set(ids)).toEqual(new Set([(again as { id: string }).id]));
      expect(c.seqs).toEqual((await expectedSeqs(stack.pool, 'projects', 'id', p)).filter((s) => s <= end));
    } finally {
      await flaky.stop();
    }
  });

  test('a closed socket leaves no subscription behind', async () => {
    const before = stack.gw.gateway.stats().subscriptions;
    const c = new Received(await client());
    for (let i = 0; i < 3; i++) await c.subscribe({ channel: 'projects' });
    expect(stack.gw.gateway.stats().subscriptions).toBe(before + 3);
    c.socket.disconnect();
    await waitFor('cleanup', () => stack.gw.gateway.stats().subscriptions === before);
  });
});
