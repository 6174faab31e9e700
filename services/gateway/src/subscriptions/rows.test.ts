import { describe, expect, test } from 'vitest';
import { columnsOfChannel, isoTimestamp, toApiRow } from './rows';

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

describe('isoTimestamp', () => {
  test.each([
    ['microseconds, cut not rounded', '2026-11-27T01:02:03.456789+00:00', '2026-11-27T01:02:03.456Z'],
    ['no fraction', '2026-11-27T01:00:00+00:00', '2026-11-27T01:00:00.000Z'],
    ['one digit', '2026-11-27T01:00:00.5+00:00', '2026-11-27T01:00:00.500Z'],
    ['.9999 stays in its second', '2026-11-27T23:59:59.9999+00:00', '2026-11-27T23:59:59.999Z'],
    ['another offset goes through Date', '2026-11-26T17:02:03.456789-08:00', '2026-11-27T01:02:03.456Z'],
    ['infinity is left as it is', 'infinity', 'infinity'],
  ])('%s', (_name, value, expected) => {
    expect(isoTimestamp(value)).toBe(expected);
  });

  test('agrees with Date on 10,000 times', () => {
    for (let i = 0; i < 10_000; i++) {
      const d = new Date(1_700_000_000_000 + i * 987_654.321);
      const micros = String(i % 1000).padStart(3, '0');
      const pg = d.toISOString().replace('Z', `${micros}+00:00`);
      expect(isoTimestamp(pg)).toBe(new Date(pg).toISOString());
    }
  });
});
