// A row never references a row of another project, whoever writes: plain SQL as the
// database's owner (the seed, the simulator, an operator) is held to it as the API is,
// and a parent that moves takes its children along, each move captured in the outbox. Rows
// written before the rule are mended by its migration.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, inject, test } from 'vitest';
import pg from 'pg';
import { ensureDatabase } from '../src/embedded/cluster';
import { dropDatabase, useTestDatabase, withDatabase } from './harness';

const migrations = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

const fx = useTestDatabase();
const ids = { A: '', B: '', jobA: '', jobB: '', resultA: '', resultB: '' };
const one = async (text: string, params: unknown[] = []) => (await fx.pool.query(text, params)).rows[0] as Record<string, unknown>;

beforeEach(async () => {
  ids.A = (await one(`INSERT INTO projects (name) VALUES ('A') RETURNING id`)).id as string;
  ids.B = (await one(`INSERT INTO projects (name) VALUES ('B') RETURNING id`)).id as string;
  ids.jobA = (await one(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'a.pdf') RETURNING id`, [ids.A])).id as string;
  ids.jobB = (await one(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'b.pdf') RETURNING id`, [ids.B])).id as string;
  const result = `INSERT INTO extraction_results (project_id, job_id, field_name, value, confidence) VALUES ($1, $2, 'f', 'v', 0.5) RETURNING id`;
  ids.resultA = (await one(result, [ids.A, ids.jobA])).id as string;
  ids.resultB = (await one(result, [ids.B, ids.jobB])).id as string;
});

describe('plain SQL is refused a parent of another project', () => {
  test.each([
    ['a result inserted under a job of another project', `INSERT INTO extraction_results (project_id, job_id, field_name, value, confidence) VALUES ($A, $jobB, 'f', 'v', 0.5)`, 'extraction_results_job_same_project_fk'],
    ['a result updated to name a job of another project', `UPDATE extraction_results SET job_id = $jobB WHERE id = $resultA`, 'extraction_results_job_same_project_fk'],
    ['a result moved away from its job', `UPDATE extraction_results SET project_id = $B WHERE id = $resultA`, 'extraction_results_job_same_project_fk'],
    ['a match inserted with a result of another project', `INSERT INTO supplier_matches (project_id, result_id, supplier_name, score) VALUES ($A, $resultB, 's', 0.5)`, 'supplier_matches_result_same_project_fk'],
  ])('%s', async (_what, statement, constraint) => {
    const text = statement.replace(/\$(A|B|jobA|jobB|resultA|resultB)\b/g, (_m, k: keyof typeof ids) => `'${ids[k]}'`);
    await expect(fx.pool.query(text)).rejects.toMatchObject({ code: '23503', constraint });
  });

  test('a match updated to name a result of another project is refused; of its own, taken', async () => {
    const match = (await one(`INSERT INTO supplier_matches (project_id, result_id, supplier_name, score) VALUES ($1, $2, 's', 0.5) RETURNING id`, [ids.A, ids.resultA])).id;
    await expect(fx.pool.query(`UPDATE supplier_matches SET result_id = $1 WHERE id = $2`, [ids.resultB, match])).rejects.toMatchObject({ code: '23503' });
    await expect(fx.pool.query(`UPDATE supplier_matches SET project_id = $1 WHERE id = $2`, [ids.B, match])).rejects.toMatchObject({ code: '23503' });
    expect(await one(`SELECT project_id, result_id FROM supplier_matches WHERE id = $1`, [match])).toEqual({ project_id: ids.A, result_id: ids.resultA });
    // Moved with its result dropped, as the chaos workload moves a match.
    await fx.pool.query(`UPDATE supplier_matches SET project_id = $1, result_id = NULL WHERE id = $2`, [ids.B, match]);
    expect(await one(`SELECT project_id, result_id FROM supplier_matches WHERE id = $1`, [match])).toEqual({ project_id: ids.B, result_id: null });
  });
});

describe('a parent that moves or goes takes its children along', () => {
  test('a job moved to another project moves its results and their matches, each move in the outbox', async () => {
    const match = (await one(`INSERT INTO supplier_matches (project_id, result_id, supplier_name, score) VALUES ($1, $2, 's', 0.5) RETURNING id`, [ids.A, ids.resultA])).id;
    await fx.pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [ids.B, ids.jobA]);
    expect(await one(`SELECT project_id FROM extraction_results WHERE id = $1`, [ids.resultA])).toEqual({ project_id: ids.B });
    expect(await one(`SELECT project_id, result_id FROM supplier_matches WHERE id = $1`, [match])).toEqual({ project_id: ids.B, result_id: ids.resultA });
    const moves = await fx.pool.query(
      `SELECT table_name, row_id FROM change_outbox WHERE op = 'UPDATE' AND moved_from = $1 AND project_id = $2 ORDER BY id`,
      [ids.A, ids.B],
    );
    expect(moves.rows).toEqual([
      { table_name: 'extraction_jobs', row_id: ids.jobA },
      { table_name: 'extraction_results', row_id: ids.resultA },
      { table_name: 'supplier_matches', row_id: match },
    ]);
  });

  test('a deleted result leaves its match in its project, without the reference', async () => {
    const match = (await one(`INSERT INTO supplier_matches (project_id, result_id, supplier_name, score) VALUES ($1, $2, 's', 0.5) RETURNING id`, [ids.A, ids.resultA])).id;
    await fx.pool.query(`DELETE FROM extraction_results WHERE id = $1`, [ids.resultA]);
    expect(await one(`SELECT project_id, result_id FROM supplier_matches WHERE id = $1`, [match])).toEqual({ project_id: ids.A, result_id: null });
  });

  test('a deleted job takes its results', async () => {
    await fx.pool.query(`DELETE FROM extraction_jobs WHERE id = $1`, [ids.jobA]);
    expect(await one(`SELECT count(*)::int AS n FROM extraction_results WHERE id = $1`, [ids.resultA])).toEqual({ n: 0 });
  });
});

describe('rows written before the rule are mended by its migration', () => {
  test('a result under a job of another project joins the job’s project; a match drops a result of another project', async () => {
    const adminUrl = inject('pgAdminUrl');
    const name = `rt_mend_${randomBytes(5).toString('hex')}`;
    await ensureDatabase(adminUrl, name);
    const client = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
    await client.connect();
    try {
      const journal = JSON.parse(readFileSync(path.join(migrations, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
      const tags = journal.entries.map((e) => e.tag);
      const at = tags.indexOf('0014_project_integrity');
      const apply = async (tag: string) => {
        for (const statement of readFileSync(path.join(migrations, `${tag}.sql`), 'utf8').split('--> statement-breakpoint')) if (statement.trim()) await client.query(statement);
      };
      for (const tag of tags.slice(0, at)) await apply(tag);
      const id = async (text: string, params: unknown[] = []) => (await client.query(text, params)).rows[0].id as string;
      const a = await id(`INSERT INTO projects (name) VALUES ('A') RETURNING id`);
      const b = await id(`INSERT INTO projects (name) VALUES ('B') RETURNING id`);
      const jobB = await id(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'b.pdf') RETURNING id`, [b]);
      const jobA = await id(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'a.pdf') RETURNING id`, [a]);
      const stray = await id(`INSERT INTO extraction_results (project_id, job_id, field_name, value, confidence) VALUES ($1, $2, 'f', 'v', 0.5) RETURNING id`, [a, jobB]);
      const resultB = await id(`INSERT INTO extraction_results (project_id, job_id, field_name, value, confidence) VALUES ($1, $2, 'f', 'v', 0.5) RETURNING id`, [b, jobB]);
      const resultA = await id(`INSERT INTO extraction_results (project_id, job_id, field_name, value, confidence) VALUES ($1, $2, 'f', 'v', 0.5) RETURNING id`, [a, jobA]);
      const match = await id(`INSERT INTO supplier_matches (project_id, result_id, supplier_name, score) VALUES ($1, $2, 's', 0.5) RETURNING id`, [a, resultB]);
      const kept = await id(`INSERT INTO supplier_matches (project_id, result_id, supplier_name, score) VALUES ($1, $2, 's', 0.5) RETURNING id`, [a, resultA]);
      await apply(tags[at]!);
      const row = async (text: string, params: unknown[]) => (await client.query(text, params)).rows[0];
      expect(await row(`SELECT project_id FROM extraction_results WHERE id = $1`, [stray])).toEqual({ project_id: b });
      expect(await row(`SELECT project_id, result_id FROM supplier_matches WHERE id = $1`, [match])).toEqual({ project_id: a, result_id: null });
      expect(await row(`SELECT project_id, result_id FROM supplier_matches WHERE id = $1`, [kept])).toEqual({ project_id: a, result_id: resultA });
      // Each mend is a change like any other, so the stream carries it.
      const mends = await client.query(`SELECT table_name, row_id FROM change_outbox WHERE op = 'UPDATE' ORDER BY id`);
      expect(mends.rows).toEqual([
        { table_name: 'extraction_results', row_id: stray },
        { table_name: 'supplier_matches', row_id: match },
      ]);
    } finally {
      await client.end();
      await dropDatabase(adminUrl, name);
    }
  });
});
