// A database migrated before the outbox recorded projects and sizes (0000-0003), with
// changes in it, upgraded by 0004-0005: the changes already there get the same project,
// move and size columns a new capture writes, so a replay narrowed by project finds them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import pg from 'pg';
import './provided';
import { ensureDatabase } from '../src/embedded/cluster';
import { dropDatabase, withDatabase } from './harness-sql';

const migrations = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');
const name = `rt_upgrade_${randomBytes(5).toString('hex')}`;
let client: pg.Client;

async function apply(file: string): Promise<void> {
  const text = readFileSync(path.join(migrations, file), 'utf8');
  for (const statement of text.split('--> statement-breakpoint')) if (statement.trim()) await client.query(statement);
}

beforeAll(async () => {
  await ensureDatabase(inject('pgAdminUrl'), name);
  client = new pg.Client({ connectionString: withDatabase(inject('pgAdminUrl'), name) });
  await client.connect();
  for (const f of ['0000_init.sql', '0001_realtime_trigger.sql', '0002_auth.sql', '0003_auth_policy.sql']) await apply(f);
});
afterAll(async () => {
  await client?.end();
  await dropDatabase(inject('pgAdminUrl'), name);
});

test('changes captured before 0004-0005 are given their project, move and size', async () => {
  const a = (await client.query(`insert into projects (name) values ('A') returning id`)).rows[0].id as string;
  const b = (await client.query(`insert into projects (name) values ('B') returning id`)).rows[0].id as string;
  const job = (await client.query(`insert into extraction_jobs (project_id, document_name) values ($1, 'd.pdf') returning id`, [a])).rows[0].id as string;
  await client.query(`update extraction_jobs set project_id = $1 where id = $2`, [b, job]);
  await client.query(`delete from extraction_jobs where id = $1`, [job]);
  await apply('0004_outbox_project.sql');
  await apply('0005_outbox_project_capture.sql');
  const { rows } = await client.query(
    `select table_name, op, project_id, moved_from, row_bytes = coalesce(octet_length(new_row::text), 0) + coalesce(octet_length(old_row::text), 0) as sized from change_outbox order by id`,
  );
  expect(rows).toEqual([
    { table_name: 'projects', op: 'INSERT', project_id: a, moved_from: null, sized: true },
    { table_name: 'projects', op: 'INSERT', project_id: b, moved_from: null, sized: true },
    { table_name: 'extraction_jobs', op: 'INSERT', project_id: a, moved_from: null, sized: true },
    { table_name: 'extraction_jobs', op: 'UPDATE', project_id: b, moved_from: a, sized: true },
    { table_name: 'extraction_jobs', op: 'DELETE', project_id: b, moved_from: null, sized: true },
  ]);
  // And what is captured from now on has them too.
  await client.query(`insert into extraction_jobs (project_id, document_name) values ($1, 'e.pdf')`, [a]);
  const last = (await client.query(`select project_id, row_bytes from change_outbox order by id desc limit 1`)).rows[0];
  expect(last.project_id).toBe(a);
  expect(last.row_bytes).toBeGreaterThan(100);
});
