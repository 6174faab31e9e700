// Contract items 3 and 5 with real parts: the replicator, the gateway on a real HTTP
// server, socket.io-client connections. Broadcast by filter, replay across a
// disconnection under load, and moves between projects.
import { describe, expect, test } from 'vitest';
import type { SubscribeRequest } from '@realtime/protocol';
import { Received, expectedSeqs, jobChurn, newProject, positionAt, useStack, waitFor } from './helpers';

const stack = useStack();
const { client, settled } = stack;

describe('broadcast', () => {
  test('five clients with different filters receive exactly the changes that match them', async () => {
    const [a, b] = [await newProject(stack.pool, 'A'), await newProject(stack.pool, 'B')];
    await settled();
    const start = stack.gw.feed.position;
    const subs: SubscribeRequest[] = [
      { channel: 'extraction_jobs', filter: { project_id: a } },
      { channel: 'extraction_jobs', filter: { project_id: b } },
      { channel: 'extraction_jobs', filter: { project_id: a, status: 'processing' } },
      { channel: 'projects' },
      { channel: 'data_layers', filter: { project_id: a } },
    ];
    const received = await Promise.all(
      subs.map(async (req) => {
        const r = new Received(await client());
        const ack = await r.subscribe(req);
        expect(ack).toMatchObject({ ok: true });
        return r;
      }),
    );
    await jobChurn(stack.db.url, [a, b], { changes: 600, writers: 3 });
    await stack.pool.query(`INSERT INTO data_layers (project_id, name, kind, source) VALUES ($1, 'L1', 'vector', 's'), ($2, 'L2', 'raster', 's')`, [a, b]);
    await stack.pool.query(`UPDATE projects SET description = 'changed' WHERE id = $1`, [b]);
    const end = await settled();
    await waitFor('deliveries', () => received.every((r) => r.lastSeq > start || r.changes.length === 0));
    await new Promise((r) => setTimeout(r, 300));

    const after = (xs: number[]) => xs.filter((s) => s > start && s <= end);
    expect(received[0]!.seqs).toEqual(after(await expectedSeqs(stack.pool, 'extraction_jobs', 'project_id', a)));
    expect(received[1]!.seqs).toEqual(after(await expectedSeqs(stack.pool, 'extraction_jobs', 'project_id', b)));
    expect(received[3]!.seqs).toEqual(after(await expectedSeqs(stack.pool, 'projects')));
    expect(received[4]!.seqs).toEqual(after(await expectedSeqs(stack.pool, 'data_layers', 'project_id', a)));
    expect(received[0]!.seqs.length).toBeGreaterThan(50);
    // Two-column filter: every event is for project A and either is or was processing.
    for (const e of received[2]!.changes) {
      const r = (e.row ?? e.old)!;
      expect(r.projectId).toBe(a);
      expect(r.status).toBe('processing');
    }
    // Each cache equals the database.
    const { rows: jobsA } = await stack.pool.query(`SELECT id, progress FROM extraction_jobs WHERE project_id = $1`, [a]);
    const cacheA = received[0]!.cache;
    expect(new Set(cacheA.keys())).toEqual(new Set(jobsA.map((j) => j.id)));
    for (const j of jobsA) expect(cacheA.get(j.id)?.progress).toBe(j.progress);
    // Rows come as the API shapes them.
    const sample = received[0]!.changes.find((e) => e.row)!.row!;
    expect(Object.keys(sample)).toEqual(expect.arrayContaining(['id', 'projectId', 'documentName', 'createdAt', 'updatedAt']));
    expect(sample.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('replay', () => {
  test('disconnect, 5,000 changes, reconnect with the last seq: exactly the missed ones, in order, then live, writers writing through the seam', async () => {
    const p = await newProject(stack.pool, 'R');
    const first = new Received(await client());
    expect(await first.subscribe({ channel: 'extraction_jobs', ...(await positionAt(stack.pool, stack.gw.feed.position)) })).toMatchObject({ ok: true });
    await waitFor('live', () => first.lives.length > 0);
    await jobChurn(stack.db.url, [p], { changes: 200 });
    await settled();
    await waitFor('the first changes', async () => first.lastSeq === (await expectedSeqs(stack.pool, 'extraction_jobs')).at(-1));
    const since = first.lastSeq;
    const fp = first.lastFp;
    first.socket.disconnect();

    await jobChurn(stack.db.url, [p], { changes: 5000, writers: 4 });
    const signal = { stop: false };
    const writing = jobChurn(stack.db.url, [p], { changes: 1_000_000, writers: 2, signal });
    await new Promise((r) => setTimeout(r, 200));
    const again = new Received(await client());
    expect(await again.subscribe({ channel: 'extraction_jobs', since, fp })).toMatchObject({ ok: true });
    await waitFor('replay to end', () => again.lives.length > 0, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    signal.stop = true;
    await writing;
    const end = await settled();
    const expected = (await expectedSeqs(stack.pool, 'extraction_jobs')).filter((s) => s > since);
    await waitFor('the stream to reach the end', () => again.lastSeq === expected.at(-1), 30_000);
    expect(again.seqs).toEqual(expected);
    expect(again.seqs.length).toBeGreaterThan(5000);
    expect(again.lives[0]!.seq).toBeLessThanOrEqual(end);
    // The cache after replay plus live equals the table.
    const before = first.cache;
    const merged = new Map(before);
    for (const e of again.changes) {
      if (e.op === 'DELETE') merged.delete(String(e.old?.id));
      else merged.set(String(e.row?.id), e.row!);
    }
    const { rows } = await stack.pool.query(`SELECT id FROM extraction_jobs WHERE project_id = $1`, [p]);
    expect(new Set(merged.keys())).toEqual(new Set(rows.map((r) => r.id)));
  });

  test('a since below the retention floor is told to resync, not given a gap', async () => {
    await newProject(stack.pool, 'old');
    await newProject(stack.pool, 'older');
    await settled();
    // Retention removed the oldest changes (as pruning does).
    const { rows } = await stack.pool.query(`DELETE FROM change_outbox WHERE seq IN (SELECT seq FROM change_outbox WHERE seq IS NOT NULL ORDER BY seq LIMIT 2) RETURNING seq`);
    expect(rows).toHaveLength(2);
    const r = new Received(await client());
    expect(await r.subscribe({ channel: 'projects', since: 0 })).toMatchObject({ ok: true });
    await waitFor('resync', () => r.resyncs.length > 0);
    expect(r.resyncs[0]).toMatchObject({ reason: 'retention', headSeq: stack.gw.feed.position });
    expect(r.changes).toEqual([]);
    // At the floor itself nothing is missing: replay runs.
    const floor = Math.max(...rows.map((x) => Number(x.seq)));
    const ok = new Received(await client());
    await ok.subscribe({ channel: 'projects', since: floor });
    await waitFor('live', () => ok.lives.length > 0);
    expect(ok.resyncs).toEqual([]);
  });

  test('a since beyond the head is told to resync: that position is of another history', async () => {
    const r = new Received(await client());
    expect(await r.subscribe({ channel: 'projects', since: 10_000_000, fp: 'AAAAAAAAAAAA' })).toMatchObject({ ok: true });
    await waitFor('resync', () => r.resyncs.length > 0);
    expect(r.resyncs[0]).toMatchObject({ reason: 'history-changed' });
  });
});

describe('moves', () => {
  test('a job moved from project A to B is a DELETE for A and an INSERT for B', async () => {
    const [a, b] = [await newProject(stack.pool, 'MA'), await newProject(stack.pool, 'MB')];
    const { rows } = await stack.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'move.pdf') RETURNING id`, [a]);
    const job = rows[0].id as string;
    await settled();
    const ra = new Received(await client());
    const rb = new Received(await client());
    await ra.subscribe({ channel: 'extraction_jobs', filter: { project_id: a } });
    await rb.subscribe({ channel: 'extraction_jobs', filter: { project_id: b } });
    await stack.pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [b, job]);
    await waitFor('both to hear of it', () => ra.changes.length > 0 && rb.changes.length > 0);
    expect(ra.changes[0]).toMatchObject({ op: 'DELETE', row: null, old: { id: job, projectId: a } });
    expect(rb.changes[0]).toMatchObject({ op: 'INSERT', old: null, row: { id: job, projectId: b } });
    expect(ra.cache.has(job)).toBe(false);
    expect(rb.cache.has(job)).toBe(true);
  });
});
