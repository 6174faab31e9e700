// Fan-out cost does not grow with subscriptions that cannot match: a live change is routed
// for the subscriptions filed under its project (old and new, for moves) and the unfiltered
// ones, never for the thousands filtered on other projects. Counted, not timed: the
// gateway's `offered` counter is the number of subscriptions a change was routed for.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Received, connect, expectedSeqs, newProject, startGateway, token, useStack, waitFor, type Client, type GatewayHandle } from './helpers';

const stack = useStack();
let gw: GatewayHandle;
const crowd: Client[] = [];

beforeAll(async () => {
  gw = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { maxSubscriptions: 100, subscribesPerSecond: 100_000 } });
  // 5,000 subscriptions, each filtered on a project of its own that never changes.
  for (let s = 0; s < 50; s++) {
    const socket = await connect(gw.port, token());
    crowd.push(socket);
    const acks = await Promise.all(Array.from({ length: 100 }, () => socket.timeout(30_000).emitWithAck('subscribe', { channel: 'extraction_jobs', filter: { project_id: randomUUID() } })));
    for (const a of acks) expect(a.ok).toBe(true);
  }
}, 120_000);
afterAll(async () => {
  for (const c of crowd) c.disconnect();
  await gw?.stop();
});

test('beside 5,000 subscriptions on other projects, each change to a project is routed for its own subscribers only, moves for both sides', async () => {
  const [p, q] = [await newProject(stack.pool, 'P'), await newProject(stack.pool, 'Q')];
  await stack.settled(gw);
  const socket = await connect(gw.port, token());
  try {
    const onP = new Received(socket);
    const onQ = new Received(socket);
    await onP.subscribe({ channel: 'extraction_jobs', filter: { project_id: p } });
    await onQ.subscribe({ channel: 'extraction_jobs', filter: { project_id: q } });
    expect(gw.gateway.stats().subscriptions).toBe(5002);
    const before = gw.gateway.stats().offered;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await stack.pool.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id`, [p, `d${i}`])).rows[0]!.id);
    // A move: a DELETE for P's subscriber, an INSERT for Q's.
    await stack.pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [q, ids[0]]);
    await stack.settled(gw);
    const expectedP = await expectedSeqs(stack.pool, 'extraction_jobs', 'project_id', p);
    await waitFor('P’s subscriber', () => onP.changes.length === 21);
    await waitFor('Q’s subscriber', () => onQ.changes.length === 1);
    expect(onP.seqs).toEqual(expectedP);
    expect(onP.changes.at(-1)).toMatchObject({ op: 'DELETE' });
    expect(onQ.changes[0]).toMatchObject({ op: 'INSERT' });
    // 20 inserts offered to P's one subscriber, the move to P's and Q's: 22, not 20 x 5,002.
    expect(gw.gateway.stats().offered - before).toBe(22);
  } finally {
    socket.disconnect();
  }
});

test('an unfiltered subscription is offered every change of its channel', async () => {
  const p = await newProject(stack.pool, 'U');
  await stack.settled(gw);
  const socket = await connect(gw.port, token());
  try {
    const all = new Received(socket);
    await all.subscribe({ channel: 'extraction_jobs' });
    const before = gw.gateway.stats().offered;
    for (let i = 0; i < 5; i++) await stack.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [p, `u${i}`]);
    await stack.settled(gw);
    await waitFor('the unfiltered subscriber', () => all.changes.length === 5);
    expect(gw.gateway.stats().offered - before).toBe(5);
  } finally {
    socket.disconnect();
  }
});
