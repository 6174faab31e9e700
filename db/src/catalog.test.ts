import { describe, expect, test } from 'vitest';
import { parseTriggerArgs } from './catalog';

describe('parseTriggerArgs', () => {
  test.each([
    ['key and project column', Buffer.from('id\0project_id\0'), { keyColumn: 'id', projectColumn: 'project_id' }],
    ['a table that is its own project', Buffer.from('id\0id\0'), { keyColumn: 'id', projectColumn: 'id' }],
    ['key only: no project', Buffer.from('note_id\0'), { keyColumn: 'note_id', projectColumn: null }],
    ['no arguments: the key is id', Buffer.from(''), { keyColumn: 'id', projectColumn: null }],
    ['text as well as bytes', 'id\0owner_project\0', { keyColumn: 'id', projectColumn: 'owner_project' }],
    ['names beyond ASCII', Buffer.from('clé\0projet\0'), { keyColumn: 'clé', projectColumn: 'projet' }],
  ])('%s', (_name, args, expected) => {
    expect(parseTriggerArgs(args)).toEqual(expected);
  });
});
