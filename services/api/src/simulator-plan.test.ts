import { describe, expect, test } from 'vitest';
import { plan, type SimJob } from './simulator-plan';

const always = () => 0; // every chance taken, first choice picked
const never = () => 0.99;
const job = (id: string, status: SimJob['status'], progress = 0, finishedAt: number | null = null, projectId = 'p1'): SimJob => ({ id, projectId, status, progress, finishedAt });

describe('plan', () => {
  test.each([
    ['an idle demo queues a job', [], ['p1'], always, [{ kind: 'create', projectId: 'p1', documentName: 'invoice-1000.pdf' }]],
    ['no projects, nothing to create', [], [], always, []],
    ['a queued job starts', [job('a', 'queued')], ['p1'], never, []],
    ['a queued job starts when the dice say so', [job('a', 'queued')], [], always, [{ kind: 'start', id: 'a' }]],
    ['processing advances, never past 100', [job('a', 'processing', 95)], [], always, [{ kind: 'advance', id: 'a', progress: 100 }]],
    ['at 100 it fails now and then', [job('a', 'processing', 100)], [], always, [{ kind: 'fail', id: 'a', error: 'OCR could not read page 2' }]],
    ['at 100 it completes otherwise', [job('a', 'processing', 100)], [], never, [{ kind: 'complete', id: 'a', projectId: 'p1' }]],
    ['finished jobs are left alone', [job('a', 'completed', 100, 1), job('b', 'failed', 40, 2)], [], never, []],
  ] as const)('%s', (_n, jobs, projects, random, expected) => {
    expect(plan([...jobs], [...projects], random)).toEqual(expected);
  });

  test('at most maxActive jobs run: no new one beyond it', () => {
    const busy = Array.from({ length: 4 }, (_, i) => job(`j${i}`, 'processing', 10));
    expect(plan(busy, ['p1'], always).filter((a) => a.kind === 'create')).toEqual([]);
  });

  test('only the newest finished jobs of a project are kept', () => {
    const finished = Array.from({ length: 8 }, (_, i) => job(`f${i}`, 'completed', 100, i));
    const removed = plan(finished, [], never).filter((a) => a.kind === 'remove').map((a) => (a as { id: string }).id);
    expect(removed.sort()).toEqual(['f0', 'f1']);
  });
});
