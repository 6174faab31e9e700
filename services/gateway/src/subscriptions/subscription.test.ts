import { describe, expect, test } from 'vitest';
import type { Filter } from '@realtime/protocol';
import { covers } from './subscription';
import { socketFits } from './registry';

describe('covers: whether a membership change of a project concerns a subscription', () => {
  const table = { name: 'tasks', keyColumn: 'id', projectColumn: 'project_id', columns: [], exactColumns: [] };
  test.each([
    ['no filter: every project it may see', table, undefined, 'p1', true],
    ['a filter on another column', table, { status: 'open' }, 'p1', true],
    ['a filter on this project', table, { project_id: 'p1' }, 'p1', true],
    ['a filter on another project', table, { project_id: 'p2' }, 'p1', false],
    ['a table of no project', { ...table, projectColumn: null }, { project_id: 'p2' }, 'p1', true],
  ])('%s', (_name, t, filter, projectId, expected) => {
    expect(covers({ table: t, filter: filter as Filter | undefined }, projectId)).toBe(expected);
  });
});

describe('socketFits: one more socket of a user (MAX_SOCKETS_PER_USER)', () => {
  test.each([
    [0, 2, true],
    [1, 2, true],
    [2, 2, false],
  ])('%i open of %i', (open, max, fits) => {
    expect(socketFits(open, max)).toBe(fits);
  });
});
