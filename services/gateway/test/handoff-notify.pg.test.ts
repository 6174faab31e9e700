// Contract item 4 across a reconnect, in NOTIFY mode: there seqs follow the outbox ids of
// the rows visible at each scan, not commit order, so a change the list already has can
// be stamped after one it has not. A client that resumes with its last seq alone would
// get that change again; with the cursor kept beside the seq it does not.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { migratedDatabase, startTestCluster, type TestCluster } from '@realtime/db/testing';
import { decodeCursor, readCursor } from '@realtime/auth';
import { Received, connect, newProject, positionAt, secret, startGateway, startReplicator, token, waitFor, type GatewayHandle } from './helpers';

let cluster: TestCluster;
let url: string;
beforeAll(async () => {
  cluster = await startTestCluster({ walLevel: 'replica' });
  url = await migratedDatabase(cluster);
});
afterAll(async () => {
  await cluster?.stop();
});

const allStamped = async (pool: pg.Pool) => (await pool.query(`SELECT count(*)::int AS n FROM change_outbox WHERE seq IS NULL`)).rows[0].n === 0;

test('resuming with since and the cursor skips what the list had, even when it was stamped after what it had not', async () => {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // The cluster stops after the file: a connection it ends must not surface as an unhandled error.
  pool.on('error', () => undefined);
  const clients: pg.Client[] = [];
  let gw: GatewayHandle | null = null;
  let replicator = startReplicator(url);
  try {
    await replicator.start();
    const p = await newProject(pool, 'N');
    await waitFor('the project stamped', () => allStamped(pool));
    await replicator.stop();

    const open = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      clients.push(c);
      return c;
    };
    // "late" writes its outbox row first but commits after the list is read; "early"
    // commits before: the list has "early" and not "late".
    const late = await open();
    await late.query('BEGIN');
    await late.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'late.pdf')`, [p]);
    const early = await open();
    await early.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'early.pdf')`, [p]);
    const reader = await open();
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const cursor = await readCursor(secret, reader);
    const { rows: listed } = await reader.query(`SELECT document_name FROM extraction_jobs WHERE project_id = $1`, [p]);
    await reader.query('COMMIT');
    expect(listed.map((r) => r.document_name)).toEqual(['early.pdf']);
    await late.query('COMMIT');

    replicator = startReplicator(url);
    await replicator.start();
    await waitFor('both stamped', () => allStamped(pool));
    const { rows } = await pool.query<{ doc: string; seq: string }>(`SELECT new_row->>'document_name' AS doc, seq FROM change_outbox WHERE table_name = 'extraction_jobs'`);
    const seqOf = Object.fromEntries(rows.map((r) => [r.doc, Number(r.seq)]));
    // The case in question: the change the list has was stamped after the one it has not.
    expect(seqOf['late.pdf']).toBeLessThan(seqOf['early.pdf']!);
    expect(decodeCursor(secret, cursor).headSeq).toBeLessThan(seqOf['late.pdf']!);

    gw = await startGateway(url);
    const head = seqOf['early.pdf']!;
    await waitFor('the feed', () => gw!.feed.position >= head);
    const filter = { project_id: p };
    const subscribeLive = async (req: Record<string, unknown>) => {
      const c = new Received(await connect(gw!.port, token()));
      expect(await c.subscribe({ channel: 'extraction_jobs', filter, ...req })).toMatchObject({ ok: true });
      await waitFor('live', () => c.lives.length > 0);
      return c;
    };

    const first = await subscribeLive({ cursor });
    expect(first.seqs).toEqual([seqOf['late.pdf']]);
    // Resumed with the last seq alone, "early" comes a second time.
    const sinceOnly = await subscribeLive(await positionAt(pool, seqOf['late.pdf']!));
    expect(sinceOnly.seqs).toEqual([seqOf['early.pdf']]);
    // With the cursor kept beside it, nothing the list had.
    const resumed = await subscribeLive({ ...(await positionAt(pool, seqOf['late.pdf']!)), cursor });
    expect(resumed.seqs).toEqual([]);
    // And it is live: the next change arrives.
    await pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'next.pdf')`, [p]);
    await waitFor('the next change', () => resumed.changes.length === 1);
    expect(resumed.changes[0]!.row).toMatchObject({ documentName: 'next.pdf' });
    for (const c of [first, sinceOnly, resumed]) c.socket.disconnect();
  } finally {
    await gw?.stop();
    await replicator.stop();
    for (const c of clients) await c.end();
    await pool.end();
  }
});
