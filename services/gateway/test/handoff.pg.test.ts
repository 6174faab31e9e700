// Contract items 4 and 6: a list read with its cursor, then a subscription with that
// cursor, under concurrent writes, equals the table at the end, with no change applied
// twice and none the list already had. And grants hold everywhere: live, replay, DELETEs.
import { describe, expect, test } from 'vitest';
import { decodeCursor, readCursor, signToken } from '@realtime/auth';
import { Received, connect, jobChurn, newProject, positionAt, secret, token, useStack, waitFor } from './helpers';

const stack = useStack();
const { client, settled } = stack;

describe('handoff', () => {
  test('list with its cursor, writes meanwhile, subscribe with the cursor: list plus stream equals the table', async () => {
    const p = await newProject(stack.pool, 'H');
    await jobChurn(stack.db.url, [p], { changes: 300 });
    const signal = { stop: false };
    const writing = jobChurn(stack.db.url, [p], { changes: 1_000_000, writers: 3, signal });
    await new Promise((r) => setTimeout(r, 300));

    // The HTTP list: rows and cursor in one REPEATABLE READ snapshot.
    const reader = await stack.pool.connect();
    let list: Map<string, number>;
    let cursor: string;
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      cursor = await readCursor(secret, reader);
      await new Promise((r) => setTimeout(r, 200)); // writers commit while the list is read
      const { rows } = await reader.query(`SELECT id, progress FROM extraction_jobs WHERE project_id = $1`, [p]);
      list = new Map(rows.map((r) => [r.id as string, r.progress as number]));
      await reader.query('COMMIT');
    } finally {
      reader.release();
    }
    await new Promise((r) => setTimeout(r, 300)); // and between the list and the subscription

    const sub = new Received(await client());
    expect(await sub.subscribe({ channel: 'extraction_jobs', filter: { project_id: p }, cursor })).toMatchObject({ ok: true });
    await waitFor('live', () => sub.lives.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    signal.stop = true;
    await writing;
    const end = await settled();
    await waitFor('the stream to catch up', async () => {
      const { rows } = await stack.pool.query(`SELECT max(seq)::int AS s FROM change_outbox WHERE table_name = 'extraction_jobs' AND seq <= $1`, [end]);
      return sub.lastSeq === rows[0].s;
    });

    for (const e of sub.changes) {
      if (e.op === 'DELETE') list.delete(String(e.old!.id));
      else list.set(String(e.row!.id), e.row!.progress as number);
    }
    const { rows: table } = await stack.pool.query(`SELECT id, progress FROM extraction_jobs WHERE project_id = $1`, [p]);
    expect(list).toEqual(new Map(table.map((r) => [r.id as string, r.progress as number])));
    expect(new Set(sub.seqs).size).toBe(sub.seqs.length);
    // Nothing the list already had was sent: no delivered change is visible in its snapshot.
    const { snapshotText, headSeq: listHead } = decodeCursor(secret, cursor);
    const { rows: stale } = await stack.pool.query(
      `SELECT count(*)::int AS n FROM change_outbox WHERE seq = ANY($1) AND (seq <= $2 OR pg_visible_in_snapshot(txid, $3::pg_snapshot))`,
      [sub.seqs, listHead, snapshotText],
    );
    expect(stale[0].n).toBe(0);
    expect(sub.changes.length).toBeGreaterThan(10);
  });

  test('a list cursor from before cursors were signed (a list kept in a browser) resyncs history-changed: the client refetches, nothing is replayed', async () => {
    const sub = new Received(await client());
    const legacy = Buffer.from(JSON.stringify({ v: 2, h: 1, f: null, s: '1:1:' })).toString('base64url');
    expect(await sub.subscribe({ channel: 'projects', cursor: legacy })).toMatchObject({ ok: true });
    await waitFor('the resync', () => sub.resyncs.length > 0);
    expect(sub.resyncs[0]).toMatchObject({ reason: 'history-changed' });
    expect(sub.changes).toEqual([]);
  });

  test('a cursor that is not one of ours is refused with BAD_REQUEST', async () => {
    const sub = new Received(await client());
    const ack = await sub.subscribe({ channel: 'projects', cursor: 'bm90IGEgY3Vyc29y' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/cursor/) } });
  });
});

describe('authorization', () => {
  test('a token for project A never yields a row of project B: live, replay, or DELETE', async () => {
    const [a, b] = [await newProject(stack.pool, 'GA'), await newProject(stack.pool, 'GB')];
    const since = await settled();
    const onlyA = signToken(secret, { channels: ['extraction_jobs', 'projects'], projects: [a] });
    const liveSub = new Received(await client(onlyA));
    expect(await liveSub.subscribe({ channel: 'extraction_jobs' })).toMatchObject({ ok: true });
    const forbidden = new Received(await client(onlyA));
    expect(await forbidden.subscribe({ channel: 'extraction_jobs', filter: { project_id: b } })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await forbidden.subscribe({ channel: 'data_layers' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    await jobChurn(stack.db.url, [a, b], { changes: 400, writers: 2 });
    // A job of A moved to B leaves A's view as a DELETE that shows only A's version.
    const { rows } = await stack.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'leaves.pdf') RETURNING id`, [a]);
    await stack.pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [b, rows[0].id]);
    await stack.pool.query(`DELETE FROM extraction_jobs WHERE project_id = $1`, [b]);
    await settled();

    const replaySub = new Received(await client(onlyA));
    expect(await replaySub.subscribe({ channel: 'extraction_jobs', ...(await positionAt(stack.pool, since)) })).toMatchObject({ ok: true });
    const projectsSub = new Received(await client(onlyA));
    expect(await projectsSub.subscribe({ channel: 'projects', since: 0 })).toMatchObject({ ok: true });
    await waitFor('replays', () => replaySub.lives.length > 0 && projectsSub.lives.length > 0);
    await new Promise((r) => setTimeout(r, 300));

    for (const r of [liveSub, replaySub]) {
      expect(r.changes.length).toBeGreaterThan(20);
      for (const e of r.changes) {
        if (e.row) expect(e.row.projectId).toBe(a);
        if (e.old) expect(e.old.projectId).toBe(a);
      }
      const moved = r.changes.filter((e) => (e.row ?? e.old)!.id === rows[0].id);
      expect(moved.map((e) => e.op)).toEqual(['INSERT', 'DELETE']);
    }
    expect(replaySub.seqs).toEqual(liveSub.seqs);
    expect(projectsSub.changes.map((e) => e.row?.id ?? e.old?.id)).toEqual([a]);
  });

  test('a forged or expired token is refused at the handshake', async () => {
    const forged = signToken(new TextEncoder().encode('x'.repeat(40)), { channels: ['*'], projects: ['*'] });
    await expect(connect(stack.gw.port, forged)).rejects.toThrow(/UNAUTHORIZED: the token is not valid/);
    await expect(connect(stack.gw.port, token({ channels: ['*'], projects: ['*'] }, -10))).rejects.toThrow(/UNAUTHORIZED: the token has expired/);
    await expect(connect(stack.gw.port, '')).rejects.toThrow(/UNAUTHORIZED: no token/);
  });

  test('a socket is closed when its token expires', async () => {
    const c = await client(token({ channels: ['*'], projects: ['*'] }, 1));
    await waitFor('the socket to be closed at exp', () => !c.connected, 5000);
  });
});
