// A value nested thousands deep: the capture trigger refuses it for every writer, and a
// row that reached the outbox before that rule (or around it) does not stop the stream:
// the worker thread hands over the rest of its batch and names what it could not.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { ReplicatorThread } from '../src/thread/thread';
import type { StampedChange } from '../src/sequencer/stamp';
import { useDatabase, waitFor } from './helpers';

const fx = useDatabase();
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

async function project(): Promise<string> {
  return (await fx.pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('p') RETURNING id`)).rows[0]!.id;
}

test.each([
  ['300 levels', 300],
  ['4,000 levels (a clone between threads overflows)', 4000],
  ['6,000 levels (JSON text overflows)', 6000],
])('the capture trigger refuses a row nested %s deep, whoever writes it, and nothing is captured', async (_why, depth) => {
  const projectId = await project();
  const before = (await fx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM change_outbox`)).rows[0]!.n;
  await expect(
    fx.pool.query(`INSERT INTO data_layers (project_id, name, kind, source, metadata) VALUES ($1, 'deep', 'vector', 's', jsonb_build_object('k', $2::jsonb))`, [projectId, nested(depth)]),
  ).rejects.toThrow(/data_layers: a value in the row is nested more than 255 levels deep/);
  expect((await fx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM change_outbox`)).rows[0]!.n).toBe(before);
  expect((await fx.pool.query(`SELECT 1 FROM data_layers WHERE name = 'deep'`)).rows).toEqual([]);
});

test('a row nested 250 levels deep, and a 1 MB text, are captured as ever', async () => {
  const projectId = await project();
  await fx.pool.query(`INSERT INTO data_layers (project_id, name, kind, source, metadata) VALUES ($1, 'deep enough', 'vector', 's', jsonb_build_object('k', $2::jsonb))`, [projectId, nested(250)]);
  await fx.pool.query(`INSERT INTO projects (name, description) VALUES ('big', repeat('x', 1024 * 1024))`);
  const { rows } = await fx.pool.query<{ table_name: string }>(`SELECT table_name FROM change_outbox WHERE new_row ->> 'name' IN ('deep enough', 'big') ORDER BY id`);
  expect(rows.map((r) => r.table_name)).toEqual(['data_layers', 'projects']);
});

test('an outbox row too deep to clone does not stop the thread: the rest of its batch crosses (the feed reads the gap from the outbox)', async () => {
  let out = '';
  const log = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, done) => ((out += chunk.toString()), done()) }));
  const t = new ReplicatorThread({ directUrl: fx.db.url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 2000, lingerMs: 5, safetyPollMs: 200, walRetryMs: 1000, log });
  const seqs: number[] = [];
  t.onStamped((changes: StampedChange[]) => {
    for (const c of changes) seqs.push(c.seq);
  });
  await t.start();
  try {
    await waitFor('the thread to lead in WAL mode', async () => t.status().role === 'leader' && t.status().mode === 'wal');
    const start = (await fx.pool.query<{ head: string | null }>(`SELECT max(seq) AS head FROM change_outbox`)).rows[0]!.head;
    const head = Number(start ?? 0);
    // As the owner, past the trigger: one transaction, a normal change on each side of the deep one.
    const client = await fx.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO projects (name) VALUES ('before')`);
      await client.query(
        `INSERT INTO change_outbox (table_name, op, row_id, new_row, txid, row_bytes, db_user) VALUES ('data_layers', 'INSERT', 'legacy', jsonb_build_object('id', 'legacy', 'k', $1::jsonb), pg_current_xact_id(), length($1::text), current_user)`,
        [nested(4000)],
      );
      await client.query(`INSERT INTO projects (name) VALUES ('after')`);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await waitFor('the changes on each side of the deep one to cross', async () => seqs.includes(head + 1) && seqs.includes(head + 3));
    expect(seqs.filter((s) => s > head)).toEqual([head + 1, head + 3]);
    // The message that carried them was read: the main thread logged no unreadable message.
    expect(out).not.toContain('could not be read');
    expect(t.status().role).toBe('leader');
  } finally {
    await t.stop();
  }
});
