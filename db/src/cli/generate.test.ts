import { describe, expect, test } from 'vitest';
import { migrationNameProblem } from './generate';

describe('migrationNameProblem', () => {
  test.each([
    { args: ['--name', 'add_supplier_notes'], want: null },
    { args: ['--name=add_supplier_notes'], want: null },
    { args: ['--custom', '--name', 'backfill_scores'], want: null },
    { args: [], want: /name the migration/ },
    { args: ['--custom'], want: /name the migration/ },
    { args: ['--name'], want: /needs a value/ },
    { args: ['--name', '--custom'], want: /needs a value/ },
    { args: ['--name='], want: /needs a value/ },
    { args: ['--name', 'Add Notes'], want: /lower case letters.*0009_add_notes\.sql/ },
    { args: ['--name', '9lives'], want: /lower case letters/ },
  ])('$args', ({ args, want }) => {
    const problem = migrationNameProblem(args);
    if (want === null) expect(problem).toBeNull();
    else expect(problem).toMatch(want);
  });
});
