// The shared limits on a real redis-server: two SharedRedis connections stand for two
// processes. Leases and counts are shared; a process that stops renewing loses its leases
// after one lease; with Redis gone each counts alone (one warning), and shares again once
// Redis answers.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '@realtime/runtime';
import { startRedis, waitFor, type RunningRedis } from '@realtime/testkit';
import { Leases, SharedRedis, sharedRateStore, type RateStore } from '../src';

const lines: string[] = [];
const log = createLogger('info', {}, { sink: (line) => lines.push(line) });
let redis: RunningRedis;
const opened: SharedRedis[] = [];

function connection(prefix: string): SharedRedis {
  const r = new SharedRedis({ url: redis.url, prefix, log });
  r.start();
  opened.push(r);
  return r;
}

function count(store: RateStore, key: string, op: 'incr' | 'read' = 'incr'): Promise<{ current: number; ttl: number }> {
  return new Promise((resolve, reject) => store[op](key, (err, res) => (err ? reject(err) : resolve(res!)), 60_000, 10));
}

async function answering(r: SharedRedis): Promise<void> {
  await waitFor(async () => (await r.run((c) => c.ping())) === 'PONG', { what: 'Redis to answer' });
}

beforeAll(async () => {
  redis = await startRedis();
});
// Closed after each test: a connection left open would add its own warning to the next test's.
afterEach(async () => {
  for (const r of opened.splice(0)) await r.close();
});
afterAll(async () => {
  await redis?.stop();
});

describe('leases across processes', () => {
  test('MAX 2: one on each process, a third refused on either; a drop frees a place', async () => {
    const [ra, rb] = [connection('t1'), connection('t1')];
    await Promise.all([answering(ra), answering(rb)]);
    const a = new Leases({ redis: ra, set: 'sockets' });
    const b = new Leases({ redis: rb, set: 'sockets' });
    expect(await a.take('u1', 's1', 2)).toEqual({ taken: true, held: 1 });
    expect(await b.take('u1', 's1', 2)).toEqual({ taken: true, held: 2 });
    expect(await a.take('u1', 's2', 2)).toEqual({ taken: false, held: 2 });
    expect(await b.take('u1', 's2', 2)).toEqual({ taken: false, held: 2 });
    expect(await a.take('u2', 's3', 2)).toEqual({ taken: true, held: 1 });
    await b.drop('u1', 's1');
    expect(await a.take('u1', 's2', 2)).toEqual({ taken: true, held: 2 });
    await a.stop();
    expect(await b.take('u1', 's4', 2)).toEqual({ taken: true, held: 1 });
    await b.stop();
  });

  test('a process that stops renewing loses its leases after one lease; one that renews keeps them', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const [ra, rb] = [connection('t2'), connection('t2')];
    await Promise.all([answering(ra), answering(rb)]);
    const a = new Leases({ redis: ra, set: 'sockets', leaseMs: 30_000, now: clock });
    const dead = new Leases({ redis: rb, set: 'sockets', leaseMs: 30_000, now: clock });
    expect((await a.take('u', 'a1', 2))?.taken).toBe(true);
    expect((await dead.take('u', 'd1', 2))?.taken).toBe(true);
    expect((await a.take('u', 'a2', 2))?.taken).toBe(false);
    now += 20_000;
    await a.renew();
    expect((await a.take('u', 'a2', 2))?.taken).toBe(false);
    now += 10_001;
    // `dead` renewed nothing: its lease lapsed; a's, renewed at +20 s, holds until +50 s.
    expect(await a.take('u', 'a2', 2)).toEqual({ taken: true, held: 2 });
    expect(await a.take('u', 'a3', 2)).toEqual({ taken: false, held: 2 });
    await a.stop();
  });

  test('a lease dropped while its take was under way is given back', async () => {
    const r = connection('t3');
    await answering(r);
    const a = new Leases({ redis: r, set: 'sockets' });
    const taking = a.take('u', 's', 1);
    const dropping = a.drop('u', 's');
    await Promise.all([taking, dropping]);
    expect(a.size).toBe(0);
    expect(await r.run((c) => c.zCard('t3:sockets:u'))).toBe(0);
  });
});

describe('counts across processes', () => {
  test('two processes\' stores spend one budget, under <prefix>:limit:<key>', async () => {
    const [ra, rb] = [connection('t4'), connection('t4')];
    await Promise.all([answering(ra), answering(rb)]);
    const a = new (sharedRateStore(ra))({}).child({});
    const b = new (sharedRateStore(rb))({}).child({});
    expect((await count(a, 'user:1')).current).toBe(1);
    expect((await count(a, 'user:1')).current).toBe(2);
    const third = await count(b, 'user:1');
    expect(third.current).toBe(3);
    expect(third.ttl).toBeGreaterThan(0);
    expect(third.ttl).toBeLessThanOrEqual(60_000);
    expect((await count(b, 'user:1', 'read')).current).toBe(3);
    expect((await count(b, 'user:2', 'read')).current).toBe(0);
    expect(await ra.run((c) => c.get('t4:limit:user:1'))).toBe('3');
  });
});

describe('Redis away', () => {
  test('a process that starts while Redis is not there serves from its own counts, with one warning', async () => {
    const gone = await startRedis();
    await gone.stop();
    const from = lines.length;
    const r = new SharedRedis({ url: gone.url, prefix: 't6', log });
    r.start();
    opened.push(r);
    const store = new (sharedRateStore(r))({});
    expect((await count(store, 'k')).current).toBe(1);
    expect((await count(store, 'k')).current).toBe(2);
    expect(await new Leases({ redis: r, set: 'sockets' }).take('u', 's', 1)).toBeNull();
    await waitFor(() => lines.slice(from).some((l) => l.includes('does not answer')), { what: 'the warning' });
    expect(lines.slice(from).filter((l) => l.includes('does not answer'))).toHaveLength(1);
  });

  test('each process counts alone, with one warning; once Redis answers, counts are shared again', async () => {
    const [ra, rb] = [connection('t5'), connection('t5')];
    await Promise.all([answering(ra), answering(rb)]);
    const a = new (sharedRateStore(ra))({});
    const b = new (sharedRateStore(rb))({});
    const la = new Leases({ redis: ra, set: 'sockets' });
    expect((await count(a, 'k')).current).toBe(1);
    expect((await count(b, 'k')).current).toBe(2);
    const from = lines.length;
    await redis.kill();
    // Each process's own count: a had counted 1 in the window, b 1.
    expect((await count(a, 'k')).current).toBe(2);
    expect((await count(a, 'k')).current).toBe(3);
    expect((await count(b, 'k')).current).toBe(2);
    expect(await la.take('u', 's1', 1)).toBeNull();
    expect(la.size).toBe(1);
    const warned = () => lines.slice(from).filter((l) => l.includes('Redis (REDIS_URL) does not answer'));
    await waitFor(() => warned().length === 2, { what: 'one warning from each process' });
    expect(warned()[0]).toContain(redis.url);
    await redis.restart();
    await Promise.all([answering(ra), answering(rb)]);
    await waitFor(() => lines.slice(from).filter((l) => l.includes('answers again')).length === 2, { what: 'each process to say Redis is back' });
    expect(warned()).toHaveLength(2);
    // The restarted Redis is empty: the shared count starts over, for both.
    expect((await count(a, 'k')).current).toBe(1);
    expect((await count(b, 'k')).current).toBe(2);
    // The lease taken while Redis was away is counted again at the next renewal.
    await la.renew();
    expect(await ra.run((c) => c.zCard('t5:sockets:u'))).toBe(1);
    await la.stop();
  });
});
