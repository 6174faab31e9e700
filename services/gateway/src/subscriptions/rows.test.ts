import { describe, expect, test } from 'vitest';
import { columnsOfChannel, toApiRow } from './rows';

describe('toApiRow', () => {
  test('camelCase keys from the schema and ISO timestamps', () => {
    expect(
      toApiRow('extraction_jobs', {
        id: 'j1',
        project_id: 'p1',
        document_name: 'a.pdf',
        progress: 40,
        error: null,
        started_at: '2026-11-27T01:02:03.456789+00:00',
        finished_at: null,
        created_at: '2026-11-27T01:00:00+00:00',
      }),
    ).toEqual({
      id: 'j1',
      projectId: 'p1',
      documentName: 'a.pdf',
      progress: 40,
      error: null,
      startedAt: '2026-11-27T01:02:03.456Z',
      finishedAt: null,
      createdAt: '2026-11-27T01:00:00.000Z',
    });
  });
  test('jsonb stays an object, reals stay numbers', () => {
    expect(toApiRow('data_layers', { metadata: { crs: 'EPSG:4326' }, visible: false })).toEqual({ metadata: { crs: 'EPSG:4326' }, visible: false });
    expect(toApiRow('supplier_matches', { score: 0.93, result_id: null })).toEqual({ score: 0.93, resultId: null });
  });
  test('a table outside the schema still gets camelCase keys', () => {
    expect(toApiRow('vendor_notes', { note_id: 1, created_at: 'x' })).toEqual({ noteId: 1, createdAt: 'x' });
  });
  test('null stays null', () => {
    expect(toApiRow('projects', null)).toBeNull();
  });
});

test('columnsOfChannel', () => {
  expect(columnsOfChannel('extraction_jobs')?.has('project_id')).toBe(true);
  expect(columnsOfChannel('extraction_jobs')?.has('projectId')).toBe(false);
  expect(columnsOfChannel('nope')).toBeNull();
});
