import { expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { extractionJobs, projects } from '@realtime/db/schema';
import { parseListQuery, encodeAfter } from './params';
import { listSpecOf } from './spec';
import { countSql, pageSql } from './sql';

const dialect = new PgDialect();
const jobs = listSpecOf('extraction-jobs', extractionJobs, 'id', 'projectId');
const own = listSpecOf('projects', projects, 'id', 'id');
const P = '0b6c1a52-8c1e-4f4e-9d55-3e0e8a7c9b10';
const K = '9a6c1a52-8c1e-4f4e-9d55-3e0e8a7c9b10';
const row = sql`row`;
const newest = encodeAfter({ by: 'createdAt', desc: true, key: 'id' }, jobs, { value: '2026-12-07 11:00:00.123', key: K });
const byId = encodeAfter({ by: 'id', desc: false, key: 'id' }, jobs, { value: K, key: K });

test.each([
  [
    'the first page, newest first',
    jobs,
    { projectId: P },
    `SELECT row AS row, to_char(realtime_list_time("created_at"), 'YYYY-MM-DD HH24:MI:SS.MS') AS sort, "id"::text AS key FROM "extraction_jobs" WHERE "project_id" = $1::uuid ORDER BY realtime_list_time("created_at") DESC, "id" DESC LIMIT $2`,
    [P, 51],
  ],
  [
    'the next page starts at its position, one row comparison',
    jobs,
    { projectId: P, status: 'failed', after: newest, limit: '10' },
    `SELECT row AS row, to_char(realtime_list_time("created_at"), 'YYYY-MM-DD HH24:MI:SS.MS') AS sort, "id"::text AS key FROM "extraction_jobs" WHERE "project_id" = $1::uuid AND "status" = $2::text AND (realtime_list_time("created_at"), "id") < ($3::timestamp, $4::uuid) ORDER BY realtime_list_time("created_at") DESC, "id" DESC LIMIT $5`,
    [P, 'failed', '2026-12-07 11:00:00.123', K, 11],
  ],
  [
    'by key, ascending',
    jobs,
    { orderBy: 'id', after: byId, progress: '5' },
    `SELECT row AS row, "id"::text AS sort, "id"::text AS key FROM "extraction_jobs" WHERE "progress" = $1::integer AND "id" > $2::uuid ORDER BY "id" ASC LIMIT $3`,
    ['5', K, 51],
  ],
  [
    'a timestamp filter compares the millisecond the client sees',
    own,
    { createdAt: '2026-12-07T11:00:00.123Z' },
    `SELECT row AS row, to_char(realtime_list_time("created_at"), 'YYYY-MM-DD HH24:MI:SS.MS') AS sort, "id"::text AS key FROM "projects" WHERE realtime_list_time("created_at") = $1::timestamp ORDER BY realtime_list_time("created_at") DESC, "id" DESC LIMIT $2`,
    ['2026-12-07 11:00:00.123', 51],
  ],
] as const)('pageSql: %s', (_name, spec, query, text, params) => {
  const q = dialect.sqlToQuery(pageSql(spec, parseListQuery(spec, query), row));
  expect(q.sql).toBe(text);
  expect(q.params).toEqual(params);
});

test('countSql: the filters without the position', () => {
  const q = dialect.sqlToQuery(countSql(jobs, parseListQuery(jobs, { projectId: P, after: newest })));
  expect(q.sql).toBe(`SELECT count(*)::int AS total FROM "extraction_jobs" WHERE "project_id" = $1::uuid`);
  expect(q.params).toEqual([P]);
});
