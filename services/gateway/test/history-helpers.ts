// What the history-identity tests share: a deployment (replicator and gateway) on a
// database, writes, a client following the stream, a resume and its two outcomes (a
// resync for history-changed with nothing replayed, or a replay equal to the outbox).
import type pg from 'pg';
import { expect } from 'vitest';
import type { SubscribeRequest } from '@realtime/protocol';
import type { Replicator } from '@realtime/replicator';
import { Received, connect, expectedSeqs, headSeq, startGateway, startReplicator, token, waitFor, type GatewayHandle } from './helpers';

/** A replicator and a gateway on `url`: what a deployment runs on it. */
export interface Running {
  replicator: Replicator;
  gw: GatewayHandle;
  stop(): Promise<void>;
}

export async function serve(url: string, cleanups: (() => Promise<void>)[]): Promise<Running> {
  const replicator = startReplicator(url);
  await replicator.start();
  const gw = await startGateway(url, { replicator });
  let stopped = false;
  const running = {
    replicator,
    gw,
    async stop() {
      if (stopped) return;
      stopped = true;
      await gw.stop();
      await replicator.stop();
    },
  };
  cleanups.push(() => running.stop());
  return running;
}

/** `n` projects, one transaction each. */
export async function write(pool: pg.Pool, n: number, name: string): Promise<void> {
  for (let i = 0; i < n; i++) await pool.query(`INSERT INTO projects (name) VALUES ($1)`, [`${name}${i}`]);
}

/** Every change stamped and handed on by the gateway's feed: the head. */
export const settled = (pool: pg.Pool, gw: GatewayHandle) =>
  waitFor('every change stamped and fed', async () => {
    const h = await headSeq(pool);
    return h > 0 && gw.feed.position === h ? h : null;
  });

/** A client following `projects` from the start, until it holds `head`. */
export async function follower(gw: GatewayHandle, head: number): Promise<Received> {
  const r = new Received(await connect(gw.port, token()));
  expect(await r.subscribe({ channel: 'projects', since: 0 })).toMatchObject({ ok: true });
  await waitFor(`the follower to reach ${head}`, () => r.lastSeq === head);
  return r;
}

export const FP = /^[A-Za-z0-9_-]{12}$/;

export const at = (r: Received, i: number) => {
  const c = r.changes[i]!;
  expect(c.fp).toMatch(FP);
  return { since: c.seq, fp: c.fp! };
};

/** Subscribes with `req` and waits for the outcome (live or resync), then a little more. */
export async function resume(gw: GatewayHandle, req: Omit<SubscribeRequest, 'channel'>): Promise<Received> {
  const r = new Received(await connect(gw.port, token()));
  expect(await r.subscribe({ channel: 'projects', ...req })).toMatchObject({ ok: true });
  await waitFor('live or resync', () => r.lives.length > 0 || r.resyncs.length > 0);
  await new Promise((res) => setTimeout(res, 300));
  r.socket.disconnect();
  return r;
}

export function expectHistoryChanged(r: Received): void {
  expect(r.resyncs.map((e) => e.reason)).toEqual(['history-changed']);
  // Never a replay: nothing of the new history on top of the old cache.
  expect(r.changes).toEqual([]);
  expect(r.lives).toEqual([]);
}

export async function expectReplayFrom(r: Received, pool: pg.Pool, since: number): Promise<void> {
  expect(r.resyncs).toEqual([]);
  expect(r.lives).toHaveLength(1);
  expect(r.seqs).toEqual((await expectedSeqs(pool, 'projects')).filter((s) => s > since));
}
