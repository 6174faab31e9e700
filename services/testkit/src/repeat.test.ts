import { describe, expect, test } from 'vitest';
import { failedTasks, failuresFromReport, runFailures, summarize, type Failure, type VitestReport } from './repeat';

const root = '/repo';
const report = (files: VitestReport['testResults']): VitestReport => ({ testResults: files });
const file = (name: string, tests: [string, string][], status = tests.some(([, s]) => s === 'failed') ? 'failed' : 'passed', message?: string) => ({
  name,
  status,
  ...(message ? { message } : {}),
  assertionResults: tests.map(([fullName, s]) => ({ fullName, status: s })),
});

describe('failuresFromReport', () => {
  test.each([
    { name: 'all passed', r: report([file('/repo/db/src/a.test.ts', [['a works', 'passed']])]), want: [] },
    {
      name: 'a failed test, by its full name, the file relative to the root',
      r: report([file('/repo/services/api/test/x.pg.test.ts', [['suite one', 'passed'], ['suite two', 'failed']])]),
      want: [{ pkg: '@realtime/api', file: 'services/api/test/x.pg.test.ts', test: 'suite two' }],
    },
    {
      name: 'a file that did not load',
      r: report([file('/repo/db/src/b.test.ts', [], 'failed', '\u001b[31mSyntaxError: Unexpected token\u001b[39m\n    at b.test.ts:3')]),
      want: [{ pkg: '@realtime/api', file: 'db/src/b.test.ts', test: '(the file failed: SyntaxError: Unexpected token)' }],
    },
    { name: 'skipped tests are not failures', r: report([file('/repo/a.test.ts', [['s', 'skipped']])]), want: [] },
  ])('$name', ({ r, want }) => {
    expect(failuresFromReport(r, '@realtime/api', root)).toEqual(want);
  });
});

describe('failedTasks', () => {
  test.each([
    { name: 'a green run', out: ' Tasks:    14 successful, 14 total\nCached:    3 cached, 14 total\n', want: [] },
    {
      name: 'a task ending in error, and turbo\'s closing line',
      out: '@realtime/api:test: ERROR: command finished with error: command (/repo/services/api) /usr/bin/npm run test exited (1)\n Tasks:    3 successful, 4 total\nFailed:    @realtime/api#test\n',
      want: [{ pkg: '@realtime/api', task: 'test' }],
    },
    {
      name: 'several in the closing line, with colours',
      out: '\u001b[31mFailed:    @realtime/db#typecheck, @realtime/web#test\u001b[0m\n',
      want: [
        { pkg: '@realtime/db', task: 'typecheck' },
        { pkg: '@realtime/web', task: 'test' },
      ],
    },
  ])('$name', ({ out, want }) => {
    expect(failedTasks(out)).toEqual(want);
  });
});

test('runFailures names a failed task only when none of its tests failed', () => {
  const reports = [{ pkg: '@realtime/api', report: report([file('/repo/services/api/test/a.test.ts', [['t', 'failed']])]) }];
  const out = 'Failed:    @realtime/api#test, @realtime/db#typecheck\n';
  expect(runFailures(reports, out, root)).toEqual([
    { pkg: '@realtime/api', file: 'services/api/test/a.test.ts', test: 't' },
    { pkg: '@realtime/db', file: '-', test: "(typecheck failed with no failed test: read the run's log)" },
  ]);
});

describe('summarize', () => {
  const a: Failure = { pkg: '@realtime/api', file: 'services/api/test/a.pg.test.ts', test: 'ctrl-c ends with stopped' };
  const b: Failure = { pkg: '@realtime/db', file: 'db/src/log.test.ts', test: 'quiet' };
  test.each([
    { name: 'no failure in any run', runs: [[], [], []], want: [] },
    {
      name: 'one line a failure, with the runs it failed in',
      runs: [[b, a], [], [a]],
      want: ['@realtime/api  services/api/test/a.pg.test.ts  ctrl-c ends with stopped  (failed in runs 1, 3 of 3)', '@realtime/db  db/src/log.test.ts  quiet  (failed in run 1 of 3)'],
    },
    { name: 'a failure named twice in one run counts once', runs: [[a, a]], want: ['@realtime/api  services/api/test/a.pg.test.ts  ctrl-c ends with stopped  (failed in run 1 of 1)'] },
  ])('$name', ({ runs, want }) => {
    expect(summarize(runs)).toEqual(want);
  });
});
