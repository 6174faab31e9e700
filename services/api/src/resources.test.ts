import { describe, expect, test } from 'vitest';
import { getTableName } from 'drizzle-orm';
import { integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { projects } from '@realtime/db/schema';
import type { StreamedTable } from '@realtime/db';
import { buildResources, schemaTables, unservedFix } from './resources';

/** The catalog as the migrations leave it, made from the schema itself: keys id, projects their own project. */
const tables = schemaTables();
const streamed = (name: string, projectColumn: string | null): StreamedTable => ({ name, keyColumn: 'id', projectColumn, exactColumns: [], columns: [] });
const catalog = new Map(tables.map((t) => getTableName(t)).map((n) => [n, streamed(n, n === 'projects' ? 'id' : 'project_id')]));

describe('buildResources', () => {
  const resources = buildResources(tables, catalog);
  const byPath = new Map(resources.map((r) => [r.path, r]));

  test('every streamed table of the schema, at its name with - for _', () => {
    expect(resources.map((r) => r.path).sort()).toEqual([...catalog.keys()].map((n) => n.replace(/_/g, '-')).sort());
    expect(byPath.get('extraction-jobs')?.channel).toBe('extraction_jobs');
  });

  test('a table the catalog does not stream is not served', () => {
    const [first, ...rest] = [...catalog.keys()];
    const fewer = buildResources(tables, new Map(rest.map((n) => [n, catalog.get(n)!])));
    expect(fewer.map((r) => r.channel)).not.toContain(first);
    expect(fewer.unserved.map((u) => [u.table, u.reason])).toEqual([[first, 'not-streamed']]);
  });

  test('a table streamed without a project column is not served: no member role could grant its rows', () => {
    const none = new Map(catalog);
    none.set('data_layers', streamed('data_layers', null));
    const built = buildResources(tables, none);
    expect(built.map((r) => r.channel)).not.toContain('data_layers');
    expect(built.unserved).toEqual([{ table: 'data_layers', path: 'data-layers', reason: 'no-project', fix: expect.stringMatching(/realtime_enable named no project column/) }]);
  });

  test('the schema as migrated leaves nothing out', () => {
    expect(resources.unserved).toEqual([]);
  });

  test('lists narrow by the foreign keys, and nothing else', () => {
    expect(Object.keys(byPath.get('projects')!.parents)).toEqual([]);
    expect(Object.keys(byPath.get('extraction-jobs')!.parents)).toEqual(['projectId']);
    expect(Object.keys(byPath.get('extraction-results')!.parents).sort()).toEqual(['jobId', 'projectId']);
    expect(Object.keys(byPath.get('supplier-matches')!.parents).sort()).toEqual(['projectId', 'resultId']);
  });

  test("a row's project follows from each parent of the same project column", () => {
    const from = (path: string) => byPath.get(path)!.projectFrom.map((p) => [p.field, p.noun, p.parentName]);
    expect(from('extraction-results')).toEqual([['jobId', 'job', 'extraction_jobs']]);
    expect(from('supplier-matches')).toEqual([['resultId', 'result', 'extraction_results']]);
    // projects is not a parent of the same project column: it is the project.
    expect(from('extraction-jobs')).toEqual([]);
    expect(byPath.get('projects')!.projectField).toBe('id');
    expect(byPath.get('data-layers')!.projectField).toBe('projectId');
  });

  test('a parent whose project column differs fills nothing', () => {
    const other = new Map(catalog);
    other.set('extraction_jobs', streamed('extraction_jobs', null));
    const results = buildResources(tables, other).find((r) => r.path === 'extraction-results')!;
    expect(results.projectFrom).toEqual([]);
  });

  test('a version is the integer `version` column that both the schema and the database have', () => {
    const withVersion = (type: string) => new Map([...catalog].map(([n, t]) => [n, { ...t, columns: [{ name: 'version', type }] }]));
    const versioned = buildResources(tables, withVersion('integer'));
    for (const r of versioned) expect(r.version, r.path).toBe(r.table[('version' as keyof typeof r.table)]);
    // Not migrated yet (the catalog lacks it), or not an integer: no ETag, no If-Match.
    expect(resources.every((r) => r.version === null)).toBe(true);
    expect(buildResources(tables, withVersion('text')).every((r) => r.version === null)).toBe(true);
  });

  test('a key column the drizzle table lacks is an error naming it', () => {
    const wrong = new Map(catalog);
    wrong.set('data_layers', { ...streamed('data_layers', 'project_id'), keyColumn: 'layer_id' });
    expect(() => buildResources(tables, wrong)).toThrow(/data_layers: the capture trigger's key column "layer_id"/);
  });
});

describe('unservedFix', () => {
  const noted = pgTable('noted', {
    noteId: uuid().primaryKey(),
    projectId: uuid().references(() => projects.id),
  });
  const owned = pgTable('owned', {
    id: integer().primaryKey(),
    workspace: uuid().references(() => projects.id),
  });
  const loose = pgTable('loose', { key: text().primaryKey() });
  test.each([
    ['with project_id, never enabled', noted, 'not-streamed', /^its changes are not captured: add SELECT realtime_enable\('noted', 'note_id', 'project_id'\); to a migration \(npm run db:generate -- --custom --name noted_stream\)/],
    ['with another column that references projects', owned, 'not-streamed', /SELECT realtime_enable\('owned', 'id', 'workspace'\);/],
    ['of no project, never enabled', loose, 'not-streamed', /not captured and its rows belong to no project: give it a project_id uuid column REFERENCES projects\(id\).*SELECT realtime_enable\('loose', 'key', 'project_id'\);.*other than db\/src\/schema\/app.ts/],
    ['enabled without its project column', noted, 'no-project', /realtime_enable named no project column; add SELECT realtime_enable\('noted', 'note_id', 'project_id'\);/],
    ['enabled, of no project', loose, 'no-project', /give it a project_id uuid column.*service tokens that grant every project/],
  ] as const)('%s', (_what, table, reason, fix) => {
    expect(unservedFix(table, reason)).toMatch(fix);
  });
});
