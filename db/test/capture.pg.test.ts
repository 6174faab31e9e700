// Contract item 1, atomic capture: every committed change to a realtime table has
// exactly one outbox row written in its own transaction; an aborted one has none.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './harness';
import { loadStreamedTables } from '../src/catalog';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'capture-test' });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

interface OutboxRow {
  id: string;
  seq: string | null;
  table_name: string;
  op: string;
  row_id: string;
  new_row: Record<string, unknown> | null;
  old_row: Record<string, unknown> | null;
  txid: string;
  actor: string | null;
  db_user: string;
  application_name: string | null;
}

async function outboxSince(id: number, where = 'true', params: unknown[] = []): Promise<OutboxRow[]> {
  const { rows } = await pool.query<OutboxRow>(`select * from change_outbox where id > $1 and ${where} order by id`, [id, ...params]);
  return rows;
}
async function lastOutboxId(): Promise<number> {
  const { rows } = await pool.query<{ id: string | null }>('select max(id) as id from change_outbox');
  return Number(rows[0]?.id ?? 0);
}

/** Runs statements in one transaction as `actor`; returns the txid and the last statement's rows. */
async function inTx(actor: string | null, statements: [string, unknown[]][]): Promise<{ txid: string; rows: Record<string, unknown>[] }> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    if (actor) await client.query(`select set_config('app.actor', $1, true)`, [actor]);
    let rows: Record<string, unknown>[] = [];
    for (const [sql, params] of statements) rows = (await client.query(sql, params)).rows;
    const { rows: tx } = await client.query<{ txid: string }>('select pg_current_xact_id()::text as txid');
    await client.query('commit');
    return { txid: tx[0]!.txid, rows };
  } catch (e) {
    await client.query('rollback');
    throw e;
  } finally {
    client.release();
  }
}

async function newProject(name = 'parent'): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`insert into projects (name) values ($1) returning id`, [name]);
  return rows[0]!.id;
}
async function newJob(projectId: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`insert into extraction_jobs (project_id, document_name) values ($1, 'doc.pdf') returning id`, [projectId]);
  return rows[0]!.id;
}
async function newResult(projectId: string): Promise<string> {
  const job = await newJob(projectId);
  const { rows } = await pool.query<{ id: string }>(
    `insert into extraction_results (job_id, project_id, field_name, value, confidence) values ($1, $2, 'total', '1', 0.5) returning id`,
    [job, projectId],
  );
  return rows[0]!.id;
}

// For each table: how to insert a row (given a fresh parent project) and which column to update.
const tables: { table: string; insert: (projectId: string) => Promise<[string, unknown[]]>; update: [string, unknown] }[] = [
  { table: 'projects', insert: async () => [`insert into projects (name, description) values ('Alpha', 'first') returning *`, []], update: ['name', 'Alpha 2'] },
  {
    table: 'extraction_jobs',
    insert: async (p) => [`insert into extraction_jobs (project_id, document_name) values ($1, 'a.pdf') returning *`, [p]],
    update: ['progress', 40],
  },
  {
    table: 'extraction_results',
    insert: async (p) => [
      `insert into extraction_results (job_id, project_id, field_name, value, confidence, page) values ($1, $2, 'supplier', 'Globex', 0.9, 3) returning *`,
      [await newJob(p), p],
    ],
    update: ['value', 'Globex GmbH'],
  },
  {
    table: 'data_layers',
    insert: async (p) => [`insert into data_layers (project_id, name, kind, source, metadata) values ($1, 'Sites', 'vector', 's3://x', '{"crs":"EPSG:4326"}') returning *`, [p]],
    update: ['visible', false],
  },
  {
    table: 'supplier_matches',
    insert: async (p) => [`insert into supplier_matches (project_id, result_id, supplier_name, score) values ($1, $2, 'Globex', 0.8) returning *`, [p, await newResult(p)]],
    update: ['status', 'confirmed'],
  },
];

/** The row as Postgres renders it to jsonb, to compare with what the trigger captured. */
async function asJson(table: string, id: unknown): Promise<Record<string, unknown>> {
  const { rows } = await pool.query(`select to_jsonb(t) as j from ${table} t where id = $1`, [id]);
  return rows[0]!.j as Record<string, unknown>;
}

describe.each(tables)('$table', ({ table, insert, update }) => {
  test('INSERT, UPDATE and DELETE each write exactly one correct outbox row', async () => {
    const parent = await newProject();
    const statement = await insert(parent);
    const before = await lastOutboxId();

    const ins = await inTx('alice@example.com', [statement]);
    const id = ins.rows[0]!.id as string;
    const inserted = await asJson(table, id);

    const [column, value] = update;
    const upd = await inTx('bob@example.com', [[`update ${table} set ${column} = $1 where id = $2`, [value, id]]]);
    const updated = await asJson(table, id);

    const del = await inTx(null, [[`delete from ${table} where id = $1`, [id]]]);

    const rows = await outboxSince(before, 'table_name = $2 and row_id = $3', [table, id]);
    expect(rows.map((r) => r.op)).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    const [i, u, d] = rows as [OutboxRow, OutboxRow, OutboxRow];

    expect(i).toMatchObject({ seq: null, new_row: inserted, old_row: null, txid: ins.txid, actor: 'alice@example.com' });
    expect(u).toMatchObject({ new_row: updated, old_row: inserted, txid: upd.txid, actor: 'bob@example.com' });
    expect(u.new_row![column]).toEqual(value);
    expect(d).toMatchObject({ new_row: null, old_row: updated, txid: del.txid, actor: null });
    for (const r of rows) {
      expect(r.db_user).toBe('postgres');
      expect(r.application_name).toBe('capture-test');
    }
    // Nothing else was written for this row: exactly one outbox row per change.
    const all = await outboxSince(before, 'row_id = $2', [id]);
    expect(all).toHaveLength(3);
  });

  test('a rolled-back transaction leaves no outbox row', async () => {
    const parent = await newProject();
    const statement = await insert(parent);
    const before = await lastOutboxId();
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query(statement[0], statement[1]);
      await client.query(`update ${table} set ${update[0]} = $1 where id = $2`, [update[1], rows[0].id]);
      await client.query(`delete from ${table} where id = $1`, [rows[0].id]);
      await client.query('rollback');
    } finally {
      client.release();
    }
    expect(await outboxSince(before, 'table_name = $2', [table])).toEqual([]);
  });
});

describe('atomicity and size', () => {
  test('a failed statement aborts its change and its outbox row together', async () => {
    const before = await lastOutboxId();
    await expect(pool.query(`insert into extraction_jobs (project_id, document_name, progress) values (gen_random_uuid(), 'x', 10)`)).rejects.toThrow(
      /foreign key/,
    );
    await expect(pool.query(`insert into projects (name, status) values ('x', 'nonsense')`)).rejects.toThrow(/projects_status_check/);
    expect(await outboxSince(before)).toEqual([]);
  });

  test('a 1 MB row commits and is captured whole, with NOTIFY on or off', async () => {
    const big = 'x'.repeat(1024 * 1024 - 7) + 'the-end';
    for (const flag of [false, true]) {
      await pool.query('update realtime_state set notify_enabled = $1', [flag]);
      const before = await lastOutboxId();
      const { rows } = await pool.query<{ id: string }>(`insert into projects (name, description) values ('big', $1) returning id`, [big]);
      const [row] = await outboxSince(before);
      expect(row?.row_id).toBe(rows[0]!.id);
      expect(row?.new_row?.description).toHaveLength(1024 * 1024);
      expect(row?.new_row?.description).toBe(big);
    }
    await pool.query('update realtime_state set notify_enabled = false');
  });

  test('deleting a project writes a DELETE for every cascaded child', async () => {
    const project = await newProject('cascade');
    const job = await newJob(project);
    await pool.query(`insert into data_layers (project_id, name, kind, source) values ($1, 'L', 'raster', 'x')`, [project]);
    const before = await lastOutboxId();
    await pool.query('delete from projects where id = $1', [project]);
    const rows = await outboxSince(before);
    expect(rows.every((r) => r.op === 'DELETE')).toBe(true);
    expect(rows.map((r) => r.table_name).sort()).toEqual(['data_layers', 'extraction_jobs', 'projects']);
    expect(rows.find((r) => r.table_name === 'extraction_jobs')?.row_id).toBe(job);
    expect(new Set(rows.map((r) => r.txid)).size).toBe(1);
  });
});

describe('NOTIFY', () => {
  test('fires if and only if the flag is on, and carries only the outbox id', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const received: string[] = [];
    listener.on('notification', (n) => {
      if (n.channel === 'realtime_outbox') received.push(n.payload ?? '');
    });
    await listener.query('listen realtime_outbox');
    const settle = () => new Promise((r) => setTimeout(r, 300));
    try {
      await pool.query('update realtime_state set notify_enabled = false');
      await newProject('silent');
      await settle();
      expect(received).toEqual([]);

      await pool.query('update realtime_state set notify_enabled = true');
      const before = await lastOutboxId();
      await inTx('carol', [
        [`insert into projects (name) values ('loud one')`, []],
        [`insert into projects (name) values ('loud two')`, []],
      ]);
      await settle();
      const ids = (await outboxSince(before)).map((r) => r.id);
      expect(ids).toHaveLength(2);
      expect(received).toEqual(ids);

      await pool.query('update realtime_state set notify_enabled = false');
      await newProject('silent again');
      await settle();
      expect(received).toEqual(ids);
    } finally {
      await pool.query('update realtime_state set notify_enabled = false');
      await listener.end();
    }
  });
});

describe('ordering', () => {
  test('two concurrent writers on one row produce outbox rows in commit order', async () => {
    const id = await newProject('contended');
    const before = await lastOutboxId();
    const first = await pool.connect();
    const second = await pool.connect();
    try {
      await first.query('begin');
      await second.query('begin');
      // The second writer reaches the row while the first holds its lock: it waits for
      // the first to commit, so its change (and its outbox row) must come after.
      await first.query(`update projects set name = 'first' where id = $1`, [id]);
      const secondDone = second.query(`update projects set name = 'second' where id = $1`, [id]);
      await new Promise((r) => setTimeout(r, 200));
      await first.query('commit');
      await secondDone;
      await second.query('commit');
    } finally {
      first.release();
      second.release();
    }
    const rows = await outboxSince(before);
    expect(rows.map((r) => r.new_row?.name)).toEqual(['first', 'second']);
    expect(rows[1]?.old_row?.name).toBe('first');
    expect(BigInt(rows[0]!.txid) < BigInt(rows[1]!.txid)).toBe(true);
  });
});

describe('guards', () => {
  test('TRUNCATE of a realtime table is refused with the fix', async () => {
    await expect(pool.query('truncate data_layers cascade')).rejects.toThrow(/would bypass the change outbox/);
  });

  test('the outbox is insert-only, and a seq is assigned once', async () => {
    await newProject('guarded');
    const id = await lastOutboxId();
    await expect(pool.query(`update change_outbox set new_row = '{}' where id = $1`, [id])).rejects.toThrow(/insert-only/);
    await pool.query('update change_outbox set seq = 1000000 + id, committed_at = now() where id = $1', [id]);
    await expect(pool.query('update change_outbox set seq = 1 where id = $1', [id])).rejects.toThrow(/already has seq/);
    // Re-stamping the same value is harmless and allowed (idempotent stamping).
    await pool.query('update change_outbox set seq = 1000000 + id where id = $1', [id]);
  });

  test('enabling a new table is one line, and a missing key column is named', async () => {
    await pool.query(`create table vendor_notes (note_id bigint generated always as identity primary key, body text not null)`);
    await expect(pool.query(`select realtime_enable('vendor_notes')`)).rejects.toThrow(/no column "id" to use as the row id/);
    await pool.query(`select realtime_enable('vendor_notes', 'note_id')`);
    const before = await lastOutboxId();
    const { rows } = await pool.query(`insert into vendor_notes (body) values ('hello') returning note_id`);
    const [row] = await outboxSince(before);
    expect(row).toMatchObject({ table_name: 'vendor_notes', op: 'INSERT', row_id: String(rows[0].note_id) });
    await pool.query(`select realtime_disable('vendor_notes')`);
    await pool.query(`insert into vendor_notes (body) values ('quiet')`);
    expect(await outboxSince(before)).toHaveLength(1);
  });
});

describe('the project and size of each change (replay narrows and pages by them)', () => {
  const outboxCols = (id: number) =>
    pool.query<{ table_name: string; op: string; project_id: string | null; moved_from: string | null; row_bytes: number; text_bytes: number }>(
      `select table_name, op, project_id, moved_from, row_bytes,
              coalesce(octet_length(new_row::text), 0) + coalesce(octet_length(old_row::text), 0) as text_bytes
       from change_outbox where id > $1 order by id`,
      [id],
    );

  test('a project records itself; a child its project; a move records where it came from; a delete its last project', async () => {
    const a = await newProject('A');
    const b = await newProject('B');
    const before = await lastOutboxId();
    const { rows } = await pool.query<{ id: string }>(`insert into extraction_jobs (project_id, document_name) values ($1, 'x.pdf') returning id`, [a]);
    await pool.query(`update extraction_jobs set status = 'processing' where id = $1`, [rows[0]!.id]);
    await pool.query(`update extraction_jobs set project_id = $1 where id = $2`, [b, rows[0]!.id]);
    await pool.query(`delete from extraction_jobs where id = $1`, [rows[0]!.id]);
    await pool.query(`update projects set name = 'A2' where id = $1`, [a]);
    const got = (await outboxCols(before)).rows.map((r) => [r.table_name, r.op, r.project_id, r.moved_from]);
    expect(got).toEqual([
      ['extraction_jobs', 'INSERT', a, null],
      ['extraction_jobs', 'UPDATE', a, null],
      ['extraction_jobs', 'UPDATE', b, a],
      ['extraction_jobs', 'DELETE', b, null],
      ['projects', 'UPDATE', a, null],
    ]);
  });

  test('row_bytes is the size of the images at capture, near their text size, and grows with the row', async () => {
    const p = await newProject('sized');
    const before = await lastOutboxId();
    await pool.query(`update projects set description = $1 where id = $2`, ['y'.repeat(100_000), p]);
    const [small, big] = [(await outboxCols(before - 1)).rows[0]!, (await outboxCols(before)).rows[0]!];
    expect(big.row_bytes).toBeGreaterThan(100_000);
    expect(Math.abs(big.row_bytes - big.text_bytes) / big.text_bytes).toBeLessThan(0.1);
    expect(small.row_bytes).toBeGreaterThan(0);
  });

  test('realtime_enable names a missing project column; a table without one records no project', async () => {
    await pool.query(`create table vendor_files (id uuid primary key default gen_random_uuid(), owner_project uuid, name text)`);
    await expect(pool.query(`select realtime_enable('vendor_files', 'id', 'project_id')`)).rejects.toThrow(/no column "project_id" to name the row's project/);
    await pool.query(`select realtime_enable('vendor_files', 'id', 'owner_project')`);
    const p = await newProject('vendor');
    let before = await lastOutboxId();
    await pool.query(`insert into vendor_files (owner_project, name) values ($1, 'f')`, [p]);
    expect((await outboxCols(before)).rows[0]).toMatchObject({ project_id: p, moved_from: null });
    await pool.query(`select realtime_enable('vendor_files')`);
    before = await lastOutboxId();
    await pool.query(`insert into vendor_files (owner_project, name) values ($1, 'g')`, [p]);
    expect((await outboxCols(before)).rows[0]).toMatchObject({ project_id: null });
    await pool.query(`select realtime_disable('vendor_files')`);
  });

  test('the recorded project and size cannot be rewritten', async () => {
    await newProject('fixed');
    const id = await lastOutboxId();
    for (const set of [`project_id = 'x'`, `moved_from = 'x'`, `row_bytes = 1`]) {
      await expect(pool.query(`update change_outbox set ${set} where id = $1`, [id])).rejects.toThrow(/insert-only/);
    }
  });
});

describe('session ends', () => {
  async function session(userId: string, expired = false): Promise<{ id: string; sid: string }> {
    const id = `hash-${Math.random()}`;
    const { rows } = await pool.query<{ sid: string }>(
      `INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + CASE WHEN $3 THEN interval '-1 hour' ELSE interval '1 hour' END) RETURNING sid`,
      [id, userId, expired],
    );
    return { id, sid: rows[0]!.sid };
  }
  async function endAs(reason: string | null, statement: string, params: unknown[]): Promise<void> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      if (reason) await c.query(`SELECT set_config('app.session_end', $1, true)`, [reason]);
      await c.query(statement, params);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  }

  test('a session deleted before its expiry is captured once with why it ended, and neither its hash nor anything but its public id', async () => {
    const user = (await pool.query<{ id: string }>(`INSERT INTO users (email) VALUES ('ends@example.com') RETURNING id`)).rows[0]!.id;
    const [a, b, old] = [await session(user), await session(user), await session(user, true)];
    const start = await lastOutboxId();
    await endAs('signed-out', `DELETE FROM sessions WHERE id = $1`, [a.id]);
    // Without a reason (a deletion by hand), a plain end; an expired session ends nothing.
    await endAs(null, `DELETE FROM sessions WHERE id = ANY($1)`, [[b.id, old.id]]);
    const rows = await outboxSince(start);
    expect(rows.map((r) => [r.table_name, r.op, r.row_id, r.new_row?.reason, r.new_row?.user_id])).toEqual([
      ['session_ends', 'INSERT', a.sid, 'signed-out', user],
      ['session_ends', 'INSERT', b.sid, 'session-ended', user],
    ]);
    expect(Object.keys(rows[0]!.new_row!).sort()).toEqual(['ended_at', 'id', 'reason', 'user_id']);
    expect(JSON.stringify(rows)).not.toContain(a.id);
  });

  test('removing a user ends each of their sessions with the reason of the removing transaction', async () => {
    const user = (await pool.query<{ id: string }>(`INSERT INTO users (email) VALUES ('removed@example.com') RETURNING id`)).rows[0]!.id;
    const sids = [(await session(user)).sid, (await session(user)).sid];
    const start = await lastOutboxId();
    await endAs('user-removed', `DELETE FROM users WHERE id = $1`, [user]);
    const rows = await outboxSince(start, `table_name = 'session_ends'`);
    expect(rows.map((r) => r.row_id).sort()).toEqual(sids.sort());
    expect(rows.map((r) => r.new_row?.reason)).toEqual(['user-removed', 'user-removed']);
  });

  test('session_ends is no streamed table: the catalog does not list it', async () => {
    const { rows } = await pool.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'session_ends'::regclass AND NOT tgisinternal`);
    expect(rows.map((r) => r.tgname)).toEqual(['session_end_capture']);
    const streamed = await loadStreamedTables(pool);
    expect(streamed.has('project_members')).toBe(true);
    expect(streamed.has('session_ends')).toBe(false);
  });
});

describe('exact numbers', () => {
  test('numeric and int8 columns are captured as strings in their own text form; other numbers stay numbers', async () => {
    await pool.query(`create table capture_amounts (
      id uuid primary key default gen_random_uuid(),
      price numeric(12, 2) not null, ratio numeric, big bigint, small integer, real_value double precision, prices numeric[])`);
    await pool.query(`select realtime_enable('capture_amounts')`);
    const before = await lastOutboxId();
    await pool.query(`insert into capture_amounts (price, ratio, big, small, real_value, prices) values (10, 'NaN', 9007199254740993, 7, 0.1, '{1.50}')`);
    await pool.query(`update capture_amounts set price = 10.5, ratio = 1.000000000000000000001, big = -9223372036854775808`);
    await pool.query(`delete from capture_amounts`);
    const [insert, update, del] = await outboxSince(before);
    expect(insert!.new_row).toMatchObject({ price: '10.00', ratio: 'NaN', big: '9007199254740993', small: 7, real_value: 0.1, prices: [1.5] });
    expect(update!.old_row).toMatchObject({ price: '10.00', big: '9007199254740993' });
    expect(update!.new_row).toMatchObject({ price: '10.50', ratio: '1.000000000000000000001', big: '-9223372036854775808' });
    expect(del!.old_row).toMatchObject({ price: '10.50', big: '-9223372036854775808' });
    // A null stays null, and the function is what the API reads rows with too.
    await pool.query(`insert into capture_amounts (price, big) values (2.5, 1)`);
    const { rows } = await pool.query<{ row: Record<string, unknown> }>(`select realtime_row_json(c) as row from capture_amounts c`);
    expect(rows[0]!.row).toMatchObject({ price: '2.50', ratio: null, big: '1', small: null });
  });
});
