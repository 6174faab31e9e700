// The declaration of a streamed table is one line, realtime_enable(table, key, project
// column): the catalog reads it back (loadStreamedTables), and the line gives a table of
// projects the API role's privileges and row-level security, tells gateways (NOTIFY
// realtime_catalog), keeps its errors, and can be run again without changing anything.
import { describe, expect, test } from 'vitest';
import pg from 'pg';
import { getTableName, is } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import * as appSchema from '../src/schema/app';
import { CATALOG_CHANNEL, loadStreamedTables } from '../src/catalog';
import { useTestDatabase } from './harness';

const fx = useTestDatabase();

const policies = async (table: string) =>
  (await fx.pool.query<{ name: string; cmd: string; qual: string | null; check: string | null }>(
    `SELECT polname AS name, polcmd AS cmd, pg_get_expr(polqual, polrelid) AS qual, pg_get_expr(polwithcheck, polrelid) AS check FROM pg_policy WHERE polrelid = $1::regclass ORDER BY polname`,
    [table],
  )).rows;

describe('loadStreamedTables', () => {
  test('finds every table with the capture trigger, its key, project column and column types', async () => {
    const tables = await loadStreamedTables(fx.pool);
    const app = Object.values(appSchema as Record<string, unknown>).filter((v): v is PgTable => is(v, PgTable)).map((t) => getTableName(t));
    expect([...tables.keys()].sort()).toEqual([...app, 'project_members'].sort());
    expect(tables.get('projects')).toMatchObject({ keyColumn: 'id', projectColumn: 'id' });
    const jobs = tables.get('extraction_jobs')!;
    expect(jobs).toMatchObject({ keyColumn: 'id', projectColumn: 'project_id' });
    expect(jobs.columns[0]).toEqual({ name: 'id', type: 'uuid' });
    expect(jobs.columns).toContainEqual({ name: 'created_at', type: 'timestamp with time zone' });
    expect(jobs.columns).toContainEqual({ name: 'progress', type: 'integer' });
  });
});

describe('realtime_enable', () => {
  test('a table of projects: privileges, the four policies, the NOTIFY; again changes nothing', async () => {
    const listener = new pg.Client({ connectionString: fx.db.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${CATALOG_CHANNEL}`);
    try {
      await fx.pool.query(`CREATE TABLE test_invoices (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), project_id uuid NOT NULL REFERENCES projects(id), amount numeric(12,2), number int8)`);
      await fx.pool.query(`SELECT realtime_enable('test_invoices', 'id', 'project_id')`);
      const first = await policies('test_invoices');
      expect(first.map((p) => [p.name, p.cmd])).toEqual([
        ['test_invoices_change', 'w'],
        ['test_invoices_create', 'a'],
        ['test_invoices_delete', 'd'],
        ['test_invoices_read', 'r'],
      ]);
      // The same rules as 0003 gave extraction_jobs, with the table's own column.
      const jobs = await policies('extraction_jobs');
      expect(first.map((p) => [p.qual, p.check])).toEqual(jobs.map((p) => [p.qual, p.check]));
      const { rows: grants } = await fx.pool.query(
        `SELECT array_agg(privilege_type ORDER BY privilege_type)::text[] AS p FROM information_schema.role_table_grants WHERE grantee = 'realtime_api' AND table_name = 'test_invoices'`,
      );
      expect(grants[0].p).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
      const { rows: rls } = await fx.pool.query(`SELECT relrowsecurity FROM pg_class WHERE oid = 'test_invoices'::regclass`);
      expect(rls[0].relrowsecurity).toBe(true);
      expect((await loadStreamedTables(fx.pool)).get('test_invoices')).toMatchObject({
        keyColumn: 'id',
        projectColumn: 'project_id',
        exactColumns: ['amount', 'number'],
        columns: [
          { name: 'id', type: 'uuid' },
          { name: 'project_id', type: 'uuid' },
          { name: 'amount', type: 'numeric(12,2)' },
          { name: 'number', type: 'bigint' },
        ],
      });

      await fx.pool.query(`SELECT realtime_enable('test_invoices', 'id', 'project_id')`);
      expect(await policies('test_invoices')).toEqual(first);
      await new Promise((r) => setTimeout(r, 100));
      expect(heard).toEqual(['test_invoices', 'test_invoices']);
    } finally {
      await listener.end();
    }
  });

  test('the tables the migrations enabled keep their own policies when enabled again', async () => {
    const before = { projects: await policies('projects'), project_members: await policies('project_members') };
    await fx.pool.query(`SELECT realtime_enable('projects', 'id', 'id'); SELECT realtime_enable('project_members', 'id', 'project_id')`);
    expect({ projects: await policies('projects'), project_members: await policies('project_members') }).toEqual(before);
  });

  test('a table that is its own project gets the projects rules: members read, anyone signed in creates, owners change', async () => {
    await fx.pool.query(`CREATE TABLE workspaces (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text)`);
    await fx.pool.query(`SELECT realtime_enable('workspaces', 'id', 'id')`);
    const got = await policies('workspaces');
    const projects = await policies('projects');
    expect(got.map((p) => [p.name.replace('workspaces', 'x'), p.cmd, p.qual, p.check])).toEqual(projects.map((p) => [p.name.replace('projects', 'x'), p.cmd, p.qual, p.check]));
  });

  test('a table without a project column: captured, no policies', async () => {
    await fx.pool.query(`CREATE TABLE notes (note_id int PRIMARY KEY, body text)`);
    await fx.pool.query(`SELECT realtime_enable('notes', 'note_id')`);
    expect(await policies('notes')).toEqual([]);
    expect((await loadStreamedTables(fx.pool)).get('notes')).toMatchObject({ keyColumn: 'note_id', projectColumn: null });
  });

  test('a table with an integer version column gets the trigger that bumps it on every UPDATE, once however often enabled', async () => {
    const versionTriggers = async (table: string) =>
      (await fx.pool.query<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'realtime_version'`, [table])).rows;
    await fx.pool.query(`CREATE TABLE versioned (id int PRIMARY KEY, body text, version integer NOT NULL DEFAULT 1)`);
    await fx.pool.query(`SELECT realtime_enable('versioned'); SELECT realtime_enable('versioned')`);
    expect(await versionTriggers('versioned')).toHaveLength(1);
    await fx.pool.query(`INSERT INTO versioned (id, body) VALUES (1, 'a')`);
    await fx.pool.query(`UPDATE versioned SET body = 'b' WHERE id = 1`);
    // Setting it does not fake it: OLD's version plus one, whatever NEW says.
    await fx.pool.query(`UPDATE versioned SET body = 'c', version = 100 WHERE id = 1`);
    const { rows } = await fx.pool.query(`SELECT version FROM versioned WHERE id = 1`);
    expect(rows[0].version).toBe(3);
    const { rows: captured } = await fx.pool.query(`SELECT (new_row ->> 'version')::int AS v FROM change_outbox WHERE table_name = 'versioned' ORDER BY id`);
    expect(captured.map((r) => r.v)).toEqual([1, 2, 3]);

    // No version column, or one of another type (the row's own meaning): no trigger.
    await fx.pool.query(`CREATE TABLE plain (id int PRIMARY KEY, version text)`);
    await fx.pool.query(`SELECT realtime_enable('plain')`);
    expect(await versionTriggers('plain')).toEqual([]);
    expect(await versionTriggers('project_members')).toEqual([]);
  });

  test('the app tables carry the version trigger', async () => {
    const { rows } = await fx.pool.query<{ t: string }>(`SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 'realtime_version' ORDER BY 1`);
    const app = Object.values(appSchema as Record<string, unknown>).filter((v): v is PgTable => is(v, PgTable)).map((t) => getTableName(t));
    expect(rows.map((r) => r.t).filter((t) => app.includes(t))).toEqual([...app].sort());
  });

  test.each([
    ['a missing key column', `SELECT realtime_enable('test_invoices', 'nope', 'project_id')`, /no column "nope" to use as the row id/],
    ['a missing project column', `SELECT realtime_enable('test_invoices', 'id', 'nope')`, /no column "nope" to name the row's project/],
    ['a project column that is not a uuid', `SELECT realtime_enable('notes', 'note_id', 'body')`, /the project column "body" is text, and project ids are uuid/],
  ])('refuses %s, naming it', async (_name, statement, message) => {
    await expect(fx.pool.query(statement)).rejects.toThrow(message);
  });
});
