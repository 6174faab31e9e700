// The stamping statements on their own, against real rows: numbering only null seqs,
// refusing to stamp a batch any of whose rows the snapshot cannot see yet, and sending
// one wake-up per statement that stamped something.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { readHead, stampPieces, stampVisible } from '../src/sequencer/stamp';
import type { Piece } from '../src/wal/transactions';

let db: TestDatabase;
let client: pg.Client;
let listener: pg.Client;
const CH = 'test_stamped';
const heard: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => heard.push(n.payload ?? ''));
  await listener.query(`LISTEN ${CH}`);
});
afterAll(async () => {
  await listener.end();
  await client.end();
  await db.drop();
});
beforeEach(async () => {
  await client.query('DELETE FROM change_outbox');
  heard.length = 0;
});
/** The wake-ups heard so far; a round trip on the listener first lets any in flight arrive. */
const wakeUps = async () => {
  await listener.query('SELECT 1');
  return [...heard];
};

async function outboxIds(n: number): Promise<number[]> {
  const { rows } = await client.query(`INSERT INTO projects (name) SELECT 'p' || g FROM generate_series(1, $1::int) g RETURNING id`, [n]);
  const { rows: ob } = await client.query(`SELECT id::int FROM change_outbox WHERE row_id = ANY($1) ORDER BY id`, [rows.map((r) => r.id)]);
  return ob.map((r) => r.id as number);
}
const piece = (ids: number[], commitEnd: string | null = '0/10', commitTime = 1_700_000_000_123_456n): Piece => ({ xid: 1, ids, rows: [], whole: true, commitTime, commitEnd });
const seqs = async (ids: number[]) =>
  (await client.query(`SELECT id::int, seq::int FROM change_outbox WHERE id = ANY($1) ORDER BY seq`, [ids])).rows.map((r) => [r.id, r.seq]);

describe('stampPieces', () => {
  test('numbers rows in the order given (commit order), not id order, with the commit time', async () => {
    const [a, b, c] = await outboxIds(3);
    const res = await stampPieces(client, [piece([c!, a!]), piece([b!], '0/20', 1_700_000_001_000_000n)], 10, true, CH);
    expect(res).toMatchObject({ complete: true, head: 13, stamped: 3 });
    expect(await seqs([a!, b!, c!])).toEqual([
      [c, 11],
      [a, 12],
      [b, 13],
    ]);
    expect(res.changes.map((ch) => [ch.id, ch.seq])).toEqual([
      [c, 11],
      [a, 12],
      [b, 13],
    ]);
    const { rows } = await client.query(`SELECT to_char(committed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t FROM change_outbox WHERE id = $1`, [a]);
    expect(rows[0].t).toBe('2023-11-14 22:13:20.123456');
    expect(await wakeUps(), 'one wake-up naming the new head').toEqual(['13']);
  });

  test('a row seen again keeps its seq and uses up no other', async () => {
    const ids = await outboxIds(4);
    await stampPieces(client, [piece(ids.slice(0, 2))], 0, false, CH);
    const res = await stampPieces(client, [piece(ids)], 2, false, CH);
    expect(res).toMatchObject({ complete: true, head: 4, stamped: 2 });
    expect((await seqs(ids)).map(([, s]) => s)).toEqual([1, 2, 3, 4]);
    const again = await stampPieces(client, [piece(ids)], 4, false, CH);
    expect(again).toMatchObject({ complete: true, head: 4, stamped: 0 });
    expect(await wakeUps(), 'no wake-up for a batch that stamped nothing').toEqual(['2', '4']);
  });

  test('a batch with a row the snapshot cannot see is not stamped at all', async () => {
    const ids = await outboxIds(2);
    const invisible = ids[1]! + 1000;
    const res = await stampPieces(client, [piece([...ids, invisible])], 0, true, CH);
    expect(res).toEqual({ complete: false, head: 0, stamped: 0, changes: [] });
    expect(await readHead(client)).toBe(0);
    expect(await wakeUps()).toEqual([]);
  });
});

describe('stampVisible', () => {
  test('stamps visible rows in id order, in bounded batches, and skips rows of open transactions', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`INSERT INTO projects (name) VALUES ('in flight')`);
      const ids = await outboxIds(5);
      expect(await stampVisible(client, 0, 3, false, CH)).toMatchObject({ stamped: 3, head: 3 });
      expect(await stampVisible(client, 3, 3, false, CH)).toMatchObject({ stamped: 2, head: 5 });
      expect((await seqs(ids)).map(([id]) => id)).toEqual(ids);
      await other.query('COMMIT');
      expect(await stampVisible(client, 5, 3, false, CH)).toMatchObject({ stamped: 1, head: 6 });
      expect(await stampVisible(client, 6, 3, true, CH)).toMatchObject({ stamped: 0, head: 6, changes: [] });
      expect(await wakeUps()).toEqual(['3', '5', '6']);
    } finally {
      await other.end();
    }
  });
});
