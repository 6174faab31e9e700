import { describe, expect, test } from 'vitest';
import { isExactType, parseTriggerArgs, unlistedExactColumns, type StreamedTable } from './catalog';

describe('parseTriggerArgs', () => {
  test.each([
    ['key and project column', Buffer.from('id\0project_id\0'), { keyColumn: 'id', projectColumn: 'project_id', exactColumns: [] }],
    ['a table that is its own project', Buffer.from('id\0id\0'), { keyColumn: 'id', projectColumn: 'id', exactColumns: [] }],
    ['key only: no project', Buffer.from('note_id\0'), { keyColumn: 'note_id', projectColumn: null, exactColumns: [] }],
    ['no arguments: the key is id', Buffer.from(''), { keyColumn: 'id', projectColumn: null, exactColumns: [] }],
    ['text as well as bytes', 'id\0owner_project\0', { keyColumn: 'id', projectColumn: 'owner_project', exactColumns: [] }],
    ['numeric and int8 columns after the project column', Buffer.from('id\0project_id\0amount\0number\0'), { keyColumn: 'id', projectColumn: 'project_id', exactColumns: ['amount', 'number'] }],
    ['numeric columns of a table of no project', Buffer.from('id\0\0amount\0'), { keyColumn: 'id', projectColumn: null, exactColumns: ['amount'] }],
    ['names beyond ASCII', Buffer.from('clé\0projet\0'), { keyColumn: 'clé', projectColumn: 'projet', exactColumns: [] }],
  ])('%s', (_name, args, expected) => {
    expect(parseTriggerArgs(args)).toEqual(expected);
  });
});

describe('isExactType', () => {
  test.each([
    ['bigint', true],
    ['numeric', true],
    ['numeric(12,2)', true],
    ['numeric(5)', true],
    ['numeric[]', false],
    ['bigint[]', false],
    ['integer', false],
    ['double precision', false],
    ['numeric_like_domain', false],
  ])('%s: %s', (type, exact) => {
    expect(isExactType(type)).toBe(exact);
  });
});

describe('unlistedExactColumns', () => {
  const table = (exactColumns: string[]): StreamedTable => ({
    name: 't',
    keyColumn: 'id',
    projectColumn: 'project_id',
    exactColumns,
    columns: [
      { name: 'id', type: 'uuid' },
      { name: 'amount', type: 'numeric(12,2)' },
      { name: 'number', type: 'bigint' },
      { name: 'count', type: 'integer' },
    ],
  });
  test.each([
    ['all listed', ['amount', 'number'], []],
    ['one added since the declaration', ['amount'], ['number']],
    ['declared before migration 0015 knew of them', [], ['amount', 'number']],
  ])('%s', (_name, listed, unlisted) => {
    expect(unlistedExactColumns(table(listed))).toEqual(unlisted);
  });
});
