// A revocation is never missed by a socket that connects while it is in flight: the feed
// hands out a change numbered from the WAL before its stamp reaches the outbox (early
// numbering), and a user's first socket that connects in that window must still count it.
// Real replicator (early delivery on), gateway and socket.io-client; the stamp is held by
// a test trigger so that the window is as long as the test needs.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { holdStamps } from '@realtime/db/testing';
import { signUserToken } from '@realtime/auth';
import type { FeedChange } from '../src/feed';
import { addUser, connect, positionAt, projectOf, Received, secret, useStack, waitFor, type Client, type GatewayHandle } from './helpers';

/** Reads of the outbox's bounds by the gateway (readBounds), counted as they are sent. */
let boundsReads = 0;
/** Every change the feed handed out, as the gateway got it. */
const fed: FeedChange[] = [];
const stack = useStack({
  gateway: {
    onQuery: (sql) => {
      if (sql.includes('AS floor')) boundsReads++;
    },
  },
});
let pool: pg.Pool;
let gw: GatewayHandle;
const clients: Client[] = [];

beforeAll(() => {
  ({ pool, gw } = stack);
  gw.feed.onChanges((batch) => fed.push(...batch));
});

afterAll(() => {
  for (const c of clients) c.disconnect();
});

const settled = () => stack.settled();
const job = async (projectId: string, name: string) =>
  (await pool.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id`, [projectId, name])).rows[0]!.id;
const projectOfRow = (c: { channel: string; row: Record<string, unknown> | null; old: Record<string, unknown> | null }) => {
  const row = (c.row ?? c.old)!;
  return (c.channel === 'projects' ? row.id : row.projectId) as string;
};

test('a first socket connected between a revocation going out and its stamp gets nothing of the project after the revocation, across a token refresh', async () => {
  const owner = await addUser(pool, 'owner@example.com');
  const dave = await addUser(pool, 'dave@example.com');
  const A = await projectOf(pool, owner, 'A');
  const B = await projectOf(pool, owner, 'B');
  await pool.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $3, 'viewer'), ($2, $3, 'viewer')`, [A, B, dave]);
  await job(A, 'seed-a.pdf');
  await settled();

  const hold = await holdStamps(pool);
  let released = false;
  try {
    await pool.query(`DELETE FROM project_members WHERE project_id = $1 AND user_id = $2`, [A, dave]);
    const revocation = await waitFor('the revocation, handed out by the feed', () =>
      fed.find((c) => c.table === 'project_members' && c.op === 'DELETE' && c.oldRow?.user_id === dave && c.oldRow?.project_id === A),
    );
    const inFlight = await job(A, 'in-flight-a.pdf');
    await waitFor('the job after it, handed out too', () => fed.some((c) => c.newRow?.id === inFlight));
    // Inside the window: the feed has sent the revocation, the outbox has no seq for it.
    const stamped = await pool.query(`SELECT seq FROM change_outbox WHERE table_name = 'project_members' AND op = 'DELETE' AND old_row ->> 'user_id' = $1`, [dave]);
    expect(stamped.rows).toEqual([{ seq: null }]);
    expect(gw.feed.position).toBeGreaterThan(revocation.seq);

    // Dave's first socket of this gateway: its membership is read now. The stamp is let go
    // once the connection has got as far as reading the outbox, or has finished.
    const readsBefore = boundsReads;
    let settledConnect = false;
    const connecting = connect(gw.port, signUserToken(secret, dave, 900)).finally(() => (settledConnect = true));
    connecting.catch(() => undefined);
    await waitFor('the connection to read the outbox or finish', () => settledConnect || boundsReads > readsBefore);
    await hold.release();
    released = true;
    const socket = await connecting;
    clients.push(socket);

    const live = new Received(socket);
    expect(await live.subscribe({ channel: 'extraction_jobs' })).toMatchObject({ ok: true });
    await waitFor('live', () => live.lives.length === 1);
    const round = async (name: string) => {
      for (let i = 0; i < 5; i++) await job(A, `${name}-a${i}.pdf`);
      const sentinel = await job(B, `${name}-b.pdf`);
      await settled();
      await waitFor(`${name}: B's job`, () => live.changes.some((c) => c.row?.id === sentinel));
    };
    await round('after-connect');
    // A refreshed token keeps the socket and its subscriptions: still nothing of A.
    expect(await socket.timeout(10_000).emitWithAck('auth', { token: await signUserToken(secret, dave, 900) })).toMatchObject({ ok: true });
    await round('after-refresh');

    const ofA = (r: Received) => r.changes.filter((c) => projectOfRow(c) === A).map((c) => `${c.seq} ${c.op}`);
    expect(ofA(live), `live changes of the revoked project after its revocation (seq ${revocation.seq})`).toEqual([]);
    expect(live.changes.filter((c) => projectOfRow(c) === B)).toHaveLength(2);

    // A replay from the revocation on (read after the live rounds: a replay reads the
    // user's memberships again, which would hide a log that missed it): B's only.
    const replay = new Received(socket);
    expect(await replay.subscribe({ channel: 'extraction_jobs', ...(await positionAt(pool, revocation.seq)) })).toMatchObject({ ok: true });
    await waitFor('the replay live', () => replay.lives.length === 1 || replay.resyncs.length > 0);
    expect(replay.resyncs).toEqual([]);
    expect(ofA(replay)).toEqual([]);
    expect(replay.changes.filter((c) => projectOfRow(c) === B)).toHaveLength(2);
  } finally {
    if (!released) await hold.release();
  }
});
