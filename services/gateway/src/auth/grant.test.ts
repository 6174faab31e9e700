import { describe, expect, test } from 'vitest';
import { rowAllowed, subscriptionAllowed } from './grant';

const all = { channels: ['*'], projects: ['*'] };
const a = { channels: ['extraction_jobs', 'projects'], projects: ['A'] };
const notes = { channels: ['audit_notes'], projects: ['A'] };
// The project column as the catalog gives it: a table's own id when it is the project.
const column = (channel: string) => (channel === 'projects' ? 'id' : channel === 'audit_notes' ? null : 'project_id');

describe('subscriptionAllowed', () => {
  test.each([
    ['everything granted', all, 'supplier_matches', { project_id: 'Z' }, true],
    ['granted channel, granted project', a, 'extraction_jobs', { project_id: 'A' }, true],
    ['granted channel, no project filter (rows are filtered instead)', a, 'extraction_jobs', undefined, true],
    ['channel not granted', a, 'data_layers', { project_id: 'A' }, false],
    ['project not granted', a, 'extraction_jobs', { project_id: 'B' }, false],
    ['projects channel filters by id', a, 'projects', { id: 'B' }, false],
    ['projects channel, own id', a, 'projects', { id: 'A' }, true],
    ['a table without a project column, granted by channel', notes, 'audit_notes', { project_id: 'B' }, true],
  ] as const)('%s', (_n, grant, channel, filter, ok) => {
    expect(subscriptionAllowed(grant, channel, column(channel), filter).ok).toBe(ok);
  });

  test('the refusal says what is missing', () => {
    expect(subscriptionAllowed(a, 'extraction_jobs', 'project_id', { project_id: 'B' })).toEqual({ ok: false, message: 'your token does not grant project B' });
  });
});

describe('rowAllowed', () => {
  test.each([
    ['all projects', all, 'extraction_jobs', { project_id: 'B' }, true],
    ['own project', a, 'extraction_jobs', { project_id: 'A' }, true],
    ['other project', a, 'extraction_jobs', { project_id: 'B' }, false],
    ['a project row by its id', a, 'projects', { id: 'A' }, true],
    ['another project row', a, 'projects', { id: 'B' }, false],
    ['a row without a project', a, 'extraction_results', {}, false],
    ['no row', a, 'extraction_jobs', null, false],
    ['a row of a table without projects, some projects granted', a, 'audit_notes', { project_id: 'A' }, false],
    ['a row of a table without projects, every project granted', all, 'audit_notes', { id: 'x' }, true],
  ] as const)('%s', (_n, grant, channel, row, ok) => {
    expect(rowAllowed(grant, column(channel), row)).toBe(ok);
  });
});
