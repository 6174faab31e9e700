// Migrations: a second run is a no-op, and a server without wal_level=logical migrates
// and captures changes too (NOTIFY mode depends on it).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { getTableName, is } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import * as appSchema from '../src/schema/app';
import { runMigrations } from '../src/migrate';
import { createLogger } from '@realtime/runtime';
import { ensureDatabase } from '../src/embedded/cluster';
import { createTestDatabase, startTestCluster, type TestCluster, type TestDatabase } from './harness';

const log = createLogger('silent');

/** Everything a migration could change, as text: columns, indexes, functions, triggers, publications. */
async function catalogFingerprint(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const queries = [
      `select table_name, column_name, data_type, column_default, is_nullable from information_schema.columns
                    where table_schema = 'public' order by 1, 2`,
      `select indexdef from pg_indexes where schemaname = 'public' order by 1`,
      `select p.proname, md5(p.prosrc) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'public' order by 1`,
      `select tgname, tgrelid::regclass::text from pg_trigger where not tgisinternal order by 1, 2`,
      `select pubname, pubinsert, pubupdate, pubdelete from pg_publication order by 1`,
      `select hash, created_at from drizzle.__drizzle_migrations order by id`,
      `select count(*) from realtime_state`,
    ];
    const parts: unknown[] = [];
    for (const q of queries) parts.push((await client.query(q)).rows);
    return JSON.stringify(parts);
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test('a second migrate changes nothing', async () => {
    const before = await catalogFingerprint(db.url);
    const result = await runMigrations(db.url, log);
    expect(result.applied).toBe(0);
    expect(result.total).toBeGreaterThanOrEqual(2);
    expect(await catalogFingerprint(db.url)).toBe(before);
  });

  test('the app schema tables and the memberships carry the trigger and the publication covers inserts to the outbox only', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows: triggers } = await client.query(
        `select tgrelid::regclass::text as t from pg_trigger where tgname = 'realtime_change' order by 1`,
      );
      // Every table of the app schema, and the memberships.
      const streamed = [...Object.values(appSchema).filter((v) => is(v, PgTable)).map((t) => getTableName(t as PgTable)), 'project_members'].sort();
      expect(triggers.map((r) => r.t)).toEqual(streamed);
      const { rows: pub } = await client.query(
        `select p.pubinsert, p.pubupdate, p.pubdelete, array(select tablename from pg_publication_tables t where t.pubname = p.pubname)::text[] as tables
         from pg_publication p where pubname = 'realtime_outbox'`,
      );
      expect(pub[0]).toEqual({ pubinsert: true, pubupdate: false, pubdelete: false, tables: ['change_outbox'] });
      // What a change needs to go out before its stamp, and nothing the stamp writes.
      const { rows: cols } = await client.query(`select attnames::text[] as cols from pg_publication_tables where pubname = 'realtime_outbox'`);
      expect([...cols[0].cols].sort()).toEqual(['actor', 'id', 'new_row', 'old_row', 'op', 'row_bytes', 'row_id', 'table_name', 'txid']);
    } finally {
      await client.end();
    }
  });
});

describe('a server with wal_level=replica', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster({ walLevel: 'replica' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('migrates from scratch, twice, and captures changes', async () => {
    await ensureDatabase(cluster.url(), 'app');
    const url = cluster.url('app');
    expect((await runMigrations(url, log)).applied).toBeGreaterThanOrEqual(2);
    expect((await runMigrations(url, log)).applied).toBe(0);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect((await client.query('show wal_level')).rows[0].wal_level).toBe('replica');
      await client.query(`insert into projects (name) values ('on replica')`);
      const { rows } = await client.query(`select op, table_name, new_row->>'name' as name from change_outbox`);
      expect(rows).toEqual([{ op: 'INSERT', table_name: 'projects', name: 'on replica' }]);
    } finally {
      await client.end();
    }
  });
});
