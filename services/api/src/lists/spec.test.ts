import { describe, expect, test } from 'vitest';
import { dataLayers, extractionJobs, projects } from '@realtime/db/schema';
import { pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';
import { castOf, defaultOrderOf, kindOf, listSpecOf, orderableFields, type ListColumn } from './spec';

const col = (field: string, name: string, kind: ListColumn['kind'], notNull = true): ListColumn => ({ field, name, kind, notNull, cast: kind });
const key = col('id', 'id', 'uuid');
const columns = [key, col('projectId', 'project_id', 'uuid'), col('createdAt', 'created_at', 'timestamp'), col('rank', 'rank', 'integer'), col('startedAt', 'started_at', 'timestamp', false), col('name', 'name', 'text')];

describe('orderableFields: the key, and NOT NULL columns of an orderable type an index serves', () => {
  test.each([
    ['no index: the key only', [], ['id']],
    ['(project, realtime_list_time(created_at), id)', [['project_id', 'realtime_list_time(created_at)', 'id']], ['id', 'createdAt']],
    ['a plain created_at index does not serve the millisecond order', [['project_id', 'created_at', 'id']], ['id']],
    ['without the key last, ties would have no order', [['project_id', 'realtime_list_time(created_at)']], ['id']],
    ['without the project first, a project list would sort', [['realtime_list_time(created_at)', 'id']], ['id']],
    ['an integer column by itself', [['project_id', 'rank', 'id']], ['id', 'rank']],
    ['a nullable timestamp never', [['project_id', 'realtime_list_time(started_at)', 'id']], ['id']],
    ['text is not an orderable type', [['project_id', 'name', 'id']], ['id']],
  ] as const)('%s', (_name, indexes, expected) => {
    expect(orderableFields(columns, key, 'project_id', indexes)).toEqual(expected);
  });

  test('a table that is its own project needs no project column first', () => {
    expect(orderableFields(columns, key, 'id', [['realtime_list_time(created_at)', 'id']])).toEqual(['id', 'createdAt']);
  });
});

test.each([
  ['PgUUID', 'uuid'],
  ['PgText', 'text'],
  ['PgInteger', 'integer'],
  ['PgBigInt64', 'bigint'],
  ['PgNumeric', 'numeric'],
  ['PgReal', 'real'],
  ['PgBoolean', 'boolean'],
  ['PgTimestamp', 'timestamp'],
  ['PgJsonb', 'unfilterable'],
  ['PgArray', 'unfilterable'],
] as const)('kindOf(%s) = %s', (type, kind) => expect(kindOf(type)).toBe(kind));

test.each([
  ['real', 'real', 'real'],
  ['real', 'double precision', 'double precision'],
  ['text', 'varchar(20)', 'text'],
  ['numeric', 'numeric(12, 2)', 'numeric'],
] as const)('castOf(%s, %s) = %s', (kind, type, cast) => expect(castOf(kind, type)).toBe(cast));

test.each([
  ['a NOT NULL createdAt: newest first', [key, col('createdAt', 'created_at', 'timestamp')], 'createdAt'],
  ['a nullable createdAt: by key', [key, col('createdAt', 'created_at', 'timestamp', false)], 'id'],
  ['no createdAt: by key', [key, col('rank', 'rank', 'integer')], 'id'],
] as const)('defaultOrderOf: %s', (_name, cols, by) => {
  expect(defaultOrderOf(cols, key)).toEqual({ by, desc: true });
});

describe('listSpecOf reads the schema and its indexes', () => {
  test('a table with createdAt and no index keeps newest first, named as unindexed', () => {
    const t = pgTable('test_notes', { id: uuid().primaryKey(), projectId: uuid().notNull(), createdAt: timestamp({ withTimezone: true }).notNull() });
    const spec = listSpecOf('test-notes', t, 'id', 'projectId');
    expect(spec.defaultOrder).toEqual({ by: 'createdAt', desc: true });
    expect(spec.orderable).toEqual(['id', 'createdAt']);
    expect(spec.unindexed).toEqual(['createdAt']);
  });

  test('jobs: newest first, by createdAt or id; status with its values; enums, json unfilterable', () => {
    const spec = listSpecOf('extraction-jobs', extractionJobs, 'id', 'projectId');
    expect(spec.orderable).toEqual(['id', 'createdAt']);
    expect(spec.unindexed).toEqual([]);
    expect(spec.defaultOrder).toEqual({ by: 'createdAt', desc: true });
    expect(spec.columns.get('status')).toMatchObject({ kind: 'text', values: ['queued', 'processing', 'completed', 'failed'], name: 'status' });
    expect(spec.columns.get('projectId')).toMatchObject({ kind: 'uuid', name: 'project_id' });
    expect(spec.columns.get('progress')).toMatchObject({ kind: 'integer', cast: 'integer' });
  });

  test('projects (their own project) and layers (a json column)', () => {
    expect(listSpecOf('projects', projects, 'id', 'id').orderable).toEqual(['id', 'createdAt']);
    const layers = listSpecOf('data-layers', dataLayers, 'id', 'projectId');
    expect(layers.columns.get('metadata')?.kind).toBe('unfilterable');
    expect(layers.columns.get('visible')?.kind).toBe('boolean');
  });
});
