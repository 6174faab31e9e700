import { describe, expect, test } from 'vitest';
import { rowAllowed, subscriptionAllowed } from './grant';

const all = { channels: ['*'], projects: ['*'] };
const a = { channels: ['extraction_jobs', 'projects'], projects: ['A'] };

describe('subscriptionAllowed', () => {
  test.each([
    ['everything granted', all, 'supplier_matches', { project_id: 'Z' }, true],
    ['granted channel, granted project', a, 'extraction_jobs', { project_id: 'A' }, true],
    ['granted channel, no project filter (rows are filtered instead)', a, 'extraction_jobs', undefined, true],
    ['channel not granted', a, 'data_layers', { project_id: 'A' }, false],
    ['project not granted', a, 'extraction_jobs', { project_id: 'B' }, false],
    ['projects channel filters by id', a, 'projects', { id: 'B' }, false],
    ['projects channel, own id', a, 'projects', { id: 'A' }, true],
  ] as const)('%s', (_n, grant, channel, filter, ok) => {
    expect(subscriptionAllowed(grant, channel, filter).ok).toBe(ok);
  });

  test('the refusal says what is missing', () => {
    expect(subscriptionAllowed(a, 'extraction_jobs', { project_id: 'B' })).toEqual({ ok: false, message: 'your token does not grant project B' });
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
  ] as const)('%s', (_n, grant, channel, row, ok) => {
    expect(rowAllowed(grant, channel, row)).toBe(ok);
  });
});
