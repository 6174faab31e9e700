// The stream obeys project membership at each change's seq (contract item 6): a member of
// A never receives a row of B, live, in replay, as a DELETE or a move, or through a list's
// cursor; a revocation stops delivery at its seq and makes the rows leave; a grant brings
// them in; a refreshed token keeps subscriptions without a gap or a duplicate; an expired
// one stops delivery and says why. Real replicator, gateway and socket.io-client.
import { beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import type { UnauthorizedEvent } from '@realtime/protocol';
import { readCursor, signUserToken } from '@realtime/auth';
import { Received, projectOf, secret, useStack, waitFor } from './helpers';

const stack = useStack();
const user = { alice: '', bob: '' };
const project = { A: '', B: '' };

async function addUser(pool: pg.Pool, email: string): Promise<string> {
  return (await pool.query<{ id: string }>(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [email])).rows[0]!.id;
}


const job = async (projectId: string, name = 'doc.pdf') =>
  (await stack.pool.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id`, [projectId, name])).rows[0]!.id;
const grant = (u: string, p: string, role = 'viewer') => stack.pool.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)`, [p, u, role]);
const revoke = (u: string, p: string) => stack.pool.query(`DELETE FROM project_members WHERE project_id = $1 AND user_id = $2`, [p, u]);
const tokenFor = (u: string, ttl = 900) => signUserToken(secret, u, ttl);

/** Every change a received list holds belongs to one of these projects. */
function onlyOf(r: Received, allowed: string[]): void {
  for (const c of r.changes) {
    const row = c.row ?? c.old!;
    const p = (c.channel === 'projects' ? row.id : row.projectId) as string;
    expect(allowed, `seq ${c.seq} (${c.channel} ${c.op})`).toContain(p);
  }
}

beforeAll(async () => {
  user.alice = await addUser(stack.pool, 'alice@example.com');
  user.bob = await addUser(stack.pool, 'bob@example.com');
  project.A = await projectOf(stack.pool, user.alice, 'A');
  project.B = await projectOf(stack.pool, user.bob, 'B');
  for (const p of [project.A, project.B]) for (let i = 0; i < 3; i++) await job(p, `seed-${i}.pdf`);
  await stack.settled();
});

describe('a member of A never receives a row of B', () => {
  test('live, with moves both ways and deletes', async () => {
    const alice = new Received(await stack.client(tokenFor(user.alice)));
    expect(await alice.subscribe({ channel: 'extraction_jobs' })).toMatchObject({ ok: true });
    await waitFor('live', () => alice.lives.length === 1);
    const inA = await job(project.A, 'live-a.pdf');
    const inB = await job(project.B, 'live-b.pdf');
    await stack.pool.query(`UPDATE extraction_jobs SET progress = 10 WHERE id = ANY($1)`, [[inA, inB]]);
    await stack.pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [project.B, inA]); // leaves A: a DELETE
    await stack.pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [project.A, inB]); // enters A: an INSERT
    await stack.pool.query(`DELETE FROM extraction_jobs WHERE id = ANY($1)`, [[inA, inB]]);
    await stack.settled();
    await waitFor('the last delete', () => alice.changes.some((c) => c.op === 'DELETE' && c.old?.id === inB));
    expect(alice.changes.map((c) => [c.op, (c.row ?? c.old)!.id])).toEqual([
      ['INSERT', inA],
      ['UPDATE', inA],
      ['DELETE', inA],
      ['INSERT', inB],
      ['DELETE', inB],
    ]);
    onlyOf(alice, [project.A]);
  });

  test('in replay from since 0, on every channel alice may read', async () => {
    const head = await stack.settled();
    for (const channel of ['projects', 'extraction_jobs']) {
      const alice = new Received(await stack.client(tokenFor(user.alice)));
      expect(await alice.subscribe({ channel, since: 0 })).toMatchObject({ ok: true });
      await waitFor('live', () => alice.lives.length === 1);
      expect(alice.resyncs).toEqual([]);
      expect(alice.changes.length).toBeGreaterThan(0);
      onlyOf(alice, [project.A]);
      // And all of A's: the oracle is the outbox itself.
      const { rows } = await stack.pool.query<{ seq: number }>(
        `SELECT seq::int FROM change_outbox WHERE table_name = $1 AND seq <= $2 AND $3 IN (new_row ->> $4, old_row ->> $4) ORDER BY seq`,
        [channel, head, project.A, channel === 'projects' ? 'id' : 'project_id'],
      );
      expect(alice.seqs).toEqual(rows.map((r) => r.seq));
    }
  });

  test('a filter on a project one is not a member of is refused; a list cursor hands off only A', async () => {
    const alice = new Received(await stack.client(tokenFor(user.alice)));
    expect(await alice.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.B } })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await alice.subscribe({ channel: 'users' as string })).toMatchObject({ ok: false });
    const client = await stack.pool.connect();
    let cursor: string;
    try {
      cursor = await readCursor(secret, client);
    } finally {
      client.release();
    }
    expect(await alice.subscribe({ channel: 'extraction_jobs', cursor })).toMatchObject({ ok: true });
    await waitFor('live', () => alice.lives.length === 1);
    const a = await job(project.A, 'after-cursor-a.pdf');
    await job(project.B, 'after-cursor-b.pdf');
    await stack.settled();
    await waitFor('the A job', () => alice.changes.some((c) => c.row?.id === a));
    onlyOf(alice, [project.A]);
  });
});

describe('grants and revocations take effect at their seq', () => {
  test('a revocation: subscriptions covering the project resync at once; nothing committed after it arrives', async () => {
    const carol = await addUser(stack.pool, 'carol@example.com');
    await grant(carol, project.A);
    await grant(carol, project.B);
    await stack.settled();
    const socket = await stack.client(tokenFor(carol));
    const all = new Received(socket);
    const onlyA = new Received(socket);
    const onlyB = new Received(socket);
    await all.subscribe({ channel: 'extraction_jobs' });
    await onlyA.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.A } });
    await onlyB.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.B } });
    await waitFor('live', () => all.lives.length + onlyA.lives.length + onlyB.lives.length === 3);
    const before = await job(project.A, 'before-revoke.pdf');
    await stack.settled();
    await waitFor('the job before', () => onlyA.changes.some((c) => c.row?.id === before));

    const revokedAt = Date.now();
    await revoke(carol, project.A);
    const after = await job(project.A, 'after-revoke.pdf');
    const stillB = await job(project.B, 'still-b.pdf');
    await stack.settled();
    // Read once stamped: the revocation's own seq, where delivery of A must stop.
    const seqOfRevoke = Number(
      (await stack.pool.query(`SELECT seq FROM change_outbox WHERE table_name = 'project_members' AND op = 'DELETE' AND old_row ->> 'user_id' = $1`, [carol])).rows[0].seq,
    );
    expect(seqOfRevoke).toBeGreaterThan(0);
    await waitFor('resyncs', () => all.resyncs.length === 1 && onlyA.resyncs.length === 1);
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(all.resyncs[0]).toMatchObject({ reason: 'membership' });
    expect(onlyA.resyncs[0]).toMatchObject({ reason: 'membership' });
    // The subscription on B alone is not A's business: it goes on.
    await waitFor('B goes on', () => onlyB.changes.some((c) => c.row?.id === stillB));
    expect(onlyB.resyncs).toEqual([]);
    for (const r of [all, onlyA, onlyB]) {
      expect(r.changes.some((c) => c.row?.id === after)).toBe(false);
      for (const c of r.changes) {
        const p = (c.row ?? c.old)!.projectId;
        if (p === project.A) expect(c.seq).toBeLessThan(seqOfRevoke);
      }
    }
    // Starting over (the client refetches, then subscribes again): A is refused by name,
    // and an unfiltered subscription from before the revocation resyncs instead of
    // replaying across it.
    const again = new Received(socket);
    expect(await again.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.A } })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const resumed = new Received(socket);
    await resumed.subscribe({ channel: 'extraction_jobs', ...all.position });
    await waitFor('resync', () => resumed.resyncs.length === 1);
    expect(resumed.resyncs[0]!.reason).toBe('membership');
    expect(resumed.changes).toEqual([]);
  });

  test('a grant: a subscription that may now hold the project resyncs, and afterwards its changes flow', async () => {
    const dave = await addUser(stack.pool, 'dave@example.com');
    const socket = await stack.client(tokenFor(dave));
    const all = new Received(socket);
    await all.subscribe({ channel: 'extraction_jobs' });
    await waitFor('live', () => all.lives.length === 1);
    await job(project.A, 'before-grant.pdf');
    await stack.settled();
    await grant(dave, project.A, 'editor');
    await stack.settled();
    await waitFor('resync', () => all.resyncs.length === 1);
    expect(all.resyncs[0]!.reason).toBe('membership');
    expect(all.changes).toEqual([]);
    const fresh = new Received(socket);
    expect(await fresh.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.A } })).toMatchObject({ ok: true });
    await waitFor('live', () => fresh.lives.length === 1);
    const j = await job(project.A, 'after-grant.pdf');
    await stack.settled();
    await waitFor('the job', () => fresh.changes.some((c) => c.row?.id === j));
  });

  test('a project the user creates streams without a resync (their ownership comes with it)', async () => {
    const erin = await addUser(stack.pool, 'erin@example.com');
    const r = new Received(await stack.client(tokenFor(erin)));
    await r.subscribe({ channel: 'projects' });
    await waitFor('live', () => r.lives.length === 1);
    const mine = await projectOf(stack.pool, erin, 'Erin\'s');
    await stack.settled();
    await waitFor('the project', () => r.changes.some((c) => c.row?.id === mine));
    expect(r.resyncs).toEqual([]);
    const resumed = new Received(await stack.client(tokenFor(erin)));
    await resumed.subscribe({ channel: 'projects', since: 0 });
    await waitFor('live', () => resumed.lives.length === 1);
    expect(resumed.resyncs).toEqual([]);
    expect(resumed.changes.map((c) => c.row?.id)).toEqual([mine]);
  });
});

describe('tokens', () => {
  test('a refreshed token keeps the subscriptions: no resubscribe, no gap, no duplicate', async () => {
    const socket = await stack.client(tokenFor(user.alice, 60));
    const r = new Received(socket);
    await r.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.A } });
    await waitFor('live', () => r.lives.length === 1);
    const before = await job(project.A, 'before-refresh.pdf');
    await stack.settled();
    await waitFor('before', () => r.changes.some((c) => c.row?.id === before));
    const ack = await socket.timeout(5000).emitWithAck('auth', { token: await tokenFor(user.alice, 900) });
    expect(ack).toMatchObject({ ok: true });
    expect((ack as { expiresAt: number }).expiresAt - Date.now() / 1000).toBeGreaterThan(800);
    const after = await job(project.A, 'after-refresh.pdf');
    await stack.pool.query(`UPDATE extraction_jobs SET progress = 1 WHERE id = $1`, [after]);
    await stack.settled();
    await waitFor('after', () => r.changes.filter((c) => c.row?.id === after).length === 2);
    expect(r.lives).toHaveLength(1);
    const seqs = r.seqs;
    expect(new Set(seqs).size).toBe(seqs.length);
    const { rows } = await stack.pool.query<{ seq: number }>(
      `SELECT seq::int FROM change_outbox WHERE table_name = 'extraction_jobs' AND seq >= $1 AND seq <= $2 AND $3 IN (new_row ->> 'project_id', old_row ->> 'project_id') ORDER BY seq`,
      [seqs[0], seqs.at(-1), project.A],
    );
    expect(seqs).toEqual(rows.map((x) => x.seq));
  });

  test('a refresh with another user\'s token is refused, and the socket keeps its identity', async () => {
    const socket = await stack.client(tokenFor(user.alice));
    expect(await socket.timeout(5000).emitWithAck('auth', { token: await tokenFor(user.bob) })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await socket.timeout(5000).emitWithAck('auth', { token: 'garbage' })).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    const r = new Received(socket);
    expect(await r.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.B } })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  test('an expired token stops delivery, and the socket is told why', async () => {
    const socket = await stack.client(tokenFor(user.alice, 2));
    const told: UnauthorizedEvent[] = [];
    socket.on('unauthorized', (e) => told.push(e));
    const r = new Received(socket);
    await r.subscribe({ channel: 'extraction_jobs', filter: { project_id: project.A } });
    await waitFor('live', () => r.lives.length === 1);
    await waitFor('told', () => told.length === 1, 5000);
    expect(told[0]).toMatchObject({ reason: 'expired' });
    await waitFor('disconnected', () => !socket.connected, 5000);
    const n = r.changes.length;
    await job(project.A, 'after-expiry.pdf');
    await stack.settled();
    await new Promise((res) => setTimeout(res, 300));
    expect(r.changes.length).toBe(n);
  });
});
