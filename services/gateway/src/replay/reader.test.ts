import { describe, expect, test } from 'vitest';
import { pageQuery, replayScope } from './reader';

describe('replayScope', () => {
  const cases: [string, Record<string, string | number | boolean | null> | undefined, string | null, string[] | null, string[] | null][] = [
    ['a filter on the project column: that project', { project_id: 'p1' }, 'project_id', ['p1', 'p2'], ['p1']],
    ['no filter: the grant', undefined, 'project_id', ['p1', 'p2'], ['p1', 'p2']],
    ['another column only: the grant', { job_id: 'j' }, 'project_id', ['p1'], ['p1']],
    ['an all-projects grant without filter: every project', undefined, 'project_id', null, null],
    ['an all-projects grant with a project filter: that one', { id: 'p9' }, 'id', null, ['p9']],
    ['a null project filter: not narrowed by it', { project_id: null }, 'project_id', null, null],
    ['a channel without project column: the grant', { project_id: 'p1' }, null, ['p1'], ['p1']],
    ['a number as project: compared as text', { project_id: 7 }, 'project_id', null, ['7']],
  ];
  for (const [name, filter, column, granted, expected] of cases) test(name, () => expect(replayScope(filter, column, granted)).toEqual(expected));
});

describe('pageQuery', () => {
  const base = { channel: 'extraction_jobs', after: 10, upTo: 99, limit: 500, maxBytes: 1 << 20, projectColumn: 'project_id' };

  test('every project: no project condition, the range and the table', () => {
    const q = pageQuery({ ...base, projects: null });
    expect(q.values).toEqual([10, 99, 'extraction_jobs', 500, 1 << 20]);
    expect(q.text).not.toContain('project_id');
    expect(q.text).toContain('ORDER BY seq LIMIT $4');
  });

  test('one project: equality, on project_id and moved_from, so the index scan keeps seq order', () => {
    const q = pageQuery({ ...base, projects: ['p1'] });
    expect(q.values.at(-1)).toBe('p1');
    expect(q.text).toContain('project_id = $6');
    expect(q.text).toContain('moved_from = $6');
    expect(q.text).not.toContain('ANY');
  });

  test('several projects: one array parameter', () => {
    const q = pageQuery({ ...base, projects: ['p1', 'p2'] });
    expect(q.values.at(-1)).toEqual(['p1', 'p2']);
    expect(q.text).toContain('project_id = ANY($6::text[])');
  });

  test('other filter columns are compared in SQL as parameters; the project column is left to the index', () => {
    const q = pageQuery({ ...base, projects: ['p1'], filter: { project_id: 'p1', status: 'done', note: null } });
    expect(q.values).toEqual([10, 99, 'extraction_jobs', 500, 1 << 20, 'status', 'done', 'p1']);
    expect(q.text).toContain(`(new_row ->> $6 = $7 OR old_row ->> $6 = $7)`);
    expect(q.text).not.toContain('note');
  });

  test('a filter value never reaches the SQL text', () => {
    const q = pageQuery({ ...base, projects: ["p'; drop table x; --"], filter: { "x'y": "'; drop" } });
    expect(q.text).not.toContain('drop');
  });

  test('the byte budget: rows are cut by the sizes before them, the first always kept', () => {
    const q = pageQuery({ ...base, projects: null });
    expect(q.text).toContain('sum(row_bytes) OVER (ORDER BY seq) - row_bytes AS before');
    expect(q.text).toContain('s.before < $5 OR s.seq = (SELECT min(seq) FROM picked)');
  });
});
