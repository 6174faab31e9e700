import { describe, expect, test } from 'vitest';
import type { LoggedChange } from '../feed';
import { PageBuilder, candidatePositions, jsonText, pickedBySql, pickerFor, projectsOf, type PickScope } from './pick';

const change = (seq: number, over: Partial<LoggedChange> = {}): LoggedChange => ({
  seq,
  table: 'extraction_jobs',
  op: 'INSERT',
  newRow: { id: `j${seq}`, project_id: 'p1', status: 'queued', progress: 0 },
  oldRow: null,
  txid: '1',
  committedAt: '2026-01-01T00:00:00.000Z',
  rowBytes: 100,
  fp: 'f',
  ...over,
});

describe('jsonText: row ->> column', () => {
  const cases: [string, Record<string, unknown> | null, string | null][] = [
    ['no row', null, null],
    ['absent', { a: 1 }, null],
    ['JSON null', { v: null }, null],
    ['a string as it is', { v: 'x y' }, 'x y'],
    ['a number', { v: 42 }, '42'],
    ['a boolean', { v: true }, 'true'],
    ['an object as jsonb prints it', { v: { a: 1, b: [1, 'x'] } }, '{"a": 1, "b": [1, "x"]}'],
  ];
  for (const [name, row, expected] of cases) test(name, () => expect(jsonText(row, 'v')).toBe(expected));
});

describe('projectsOf: project_id and moved_from as the trigger records them', () => {
  const cases: [string, Pick<LoggedChange, 'op' | 'newRow' | 'oldRow'>, { project: string | null; movedFrom: string | null }][] = [
    ['insert', { op: 'INSERT', newRow: { project_id: 'a' }, oldRow: null }, { project: 'a', movedFrom: null }],
    ['delete: the old row', { op: 'DELETE', newRow: null, oldRow: { project_id: 'a' } }, { project: 'a', movedFrom: null }],
    ['update in place', { op: 'UPDATE', newRow: { project_id: 'a' }, oldRow: { project_id: 'a' } }, { project: 'a', movedFrom: null }],
    ['a move', { op: 'UPDATE', newRow: { project_id: 'b' }, oldRow: { project_id: 'a' } }, { project: 'b', movedFrom: 'a' }],
    ['into a project from none', { op: 'UPDATE', newRow: { project_id: 'b' }, oldRow: { project_id: null } }, { project: 'b', movedFrom: null }],
    ['out of a project to none', { op: 'UPDATE', newRow: { project_id: null }, oldRow: { project_id: 'a' } }, { project: null, movedFrom: 'a' }],
  ];
  for (const [name, c, expected] of cases) test(name, () => expect(projectsOf(c, 'project_id')).toEqual(expected));
});

describe('pickedBySql: what pageQuery picks', () => {
  const all: PickScope = { channel: 'extraction_jobs', projects: null, projectColumn: 'project_id' };
  const moved = change(5, { op: 'UPDATE', newRow: { id: 'j', project_id: 'p2', status: 'done' }, oldRow: { id: 'j', project_id: 'p1', status: 'queued' } });
  const cases: [string, LoggedChange, PickScope, boolean][] = [
    ['table_name = channel', change(1), all, true],
    ['another table: not picked', change(1, { table: 'documents' }), all, false],
    ['project_id in the projects', change(1), { ...all, projects: ['p1'] }, true],
    ['project_id outside them', change(1), { ...all, projects: ['p2'] }, false],
    ['one of several projects (= ANY)', change(1), { ...all, projects: ['p9', 'p1'] }, true],
    ['a move: picked by the project it went to', moved, { ...all, projects: ['p2'] }, true],
    ['a move: picked by moved_from', moved, { ...all, projects: ['p1'] }, true],
    ['a move between two others: not picked', moved, { ...all, projects: ['p3'] }, false],
    ['a delete: by the old row project', change(1, { op: 'DELETE', newRow: null, oldRow: { id: 'j', project_id: 'p1' } }), { ...all, projects: ['p1'] }, true],
    ['no project recorded: never in a project list', change(1, { newRow: { id: 'j', project_id: null } }), { ...all, projects: ['p1'] }, false],
    ['projects without a project column: nothing (project_id is null)', change(1), { ...all, projectColumn: null, projects: ['p1'] }, false],
    ['filter on the project column: left to the projects', change(1), { ...all, filter: { project_id: 'p2' } }, true],
    ['filter column on the new row', change(1), { ...all, filter: { status: 'queued' } }, true],
    ['filter column on the old row only', moved, { ...all, filter: { status: 'queued' } }, true],
    ['filter column on neither', change(1), { ...all, filter: { status: 'done' } }, false],
    ['a number compares as text', change(1), { ...all, filter: { progress: 0 } }, true],
    ['a number that differs', change(1), { ...all, filter: { progress: 1 } }, false],
    ['a null filter value: no condition', change(1), { ...all, filter: { status: null } }, true],
    ['a column the row lacks: ->> is null, never equal', change(1), { ...all, filter: { nope: 'x' } }, false],
    ['every condition holds together', moved, { ...all, projects: ['p1'], filter: { status: 'done', id: 'j' } }, true],
    ['one of them fails', moved, { ...all, projects: ['p1'], filter: { status: 'done', id: 'k' } }, false],
  ];
  for (const [name, c, scope, expected] of cases) test(name, () => expect(pickedBySql(c, scope)).toBe(expected));
});

describe('PageBuilder: sized as the SQL sizes a page', () => {
  const run = (after: number, changes: LoggedChange[], bounds: { upTo: number; limit: number; maxBytes: number }, picks: (c: LoggedChange) => boolean = () => true) => {
    const b = new PageBuilder({ after, ...bounds }, picks);
    for (const c of changes) if (!b.offer(c)) break;
    const p = b.page();
    return { seqs: p.changes.map((c) => c.seq), more: p.more, through: p.through };
  };
  const dense = (from: number, to: number, bytes = 100) => Array.from({ length: to - from + 1 }, (_, i) => change(from + i, { rowBytes: bytes }));
  const cases: [string, ReturnType<typeof run>, { seqs: number[]; more: boolean; through: number }][] = [
    ['all of a short range', run(0, dense(1, 3), { upTo: 3, limit: 10, maxBytes: 1e6 }), { seqs: [1, 2, 3], more: false, through: 3 }],
    ['limit', run(0, dense(1, 9), { upTo: 9, limit: 4, maxBytes: 1e6 }), { seqs: [1, 2, 3, 4], more: true, through: 4 }],
    ['upTo bounds it', run(0, dense(1, 9), { upTo: 5, limit: 10, maxBytes: 1e6 }), { seqs: [1, 2, 3, 4, 5], more: false, through: 5 }],
    ['bytes: rows while those before take less than maxBytes', run(0, dense(1, 9), { upTo: 9, limit: 10, maxBytes: 250 }), { seqs: [1, 2, 3], more: true, through: 3 }],
    ['bytes: a row larger than the budget is a page of its own', run(0, dense(1, 3, 5000), { upTo: 3, limit: 10, maxBytes: 1000 }), { seqs: [1], more: true, through: 1 }],
    ['only picked rows count toward limit', run(0, dense(1, 9), { upTo: 9, limit: 2, maxBytes: 1e6 }, (c) => c.seq % 3 === 0), { seqs: [3, 6], more: true, through: 6 }],
    ['unpicked rows are judged past: through the end', run(0, dense(1, 9), { upTo: 9, limit: 5, maxBytes: 1e6 }, (c) => c.seq === 2), { seqs: [2], more: false, through: 9 }],
    ['fewer offered than the range: more, through what was seen', run(10, dense(11, 14), { upTo: 30, limit: 10, maxBytes: 1e6 }), { seqs: [11, 12, 13, 14], more: true, through: 14 }],
    ['nothing offered', run(10, [], { upTo: 30, limit: 10, maxBytes: 1e6 }), { seqs: [], more: true, through: 10 }],
  ];
  for (const [name, got, expected] of cases) test(name, () => expect(got).toEqual(expected));

  test('an offer that does not follow on is refused by name', () => {
    const b = new PageBuilder({ after: 0, upTo: 9, limit: 5, maxBytes: 1e6 }, () => true);
    expect(() => b.offer(change(2))).toThrow(/dense seqs: offered 2 after 0/);
  });
});

describe('a run offered by its project index builds the page that offering every change does', () => {
  // A small seeded generator: the same runs every time, many shapes of them.
  function rng(seed: number) {
    let x = seed;
    return (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
  }
  const PROJECTS = ['p1', 'p2', 'p3', 'p4'];

  function randomRun(r: (n: number) => number, first: number, length: number): LoggedChange[] {
    return Array.from({ length }, (_, i) => {
      const pick = (): string | null => (r(8) === 0 ? null : PROJECTS[r(PROJECTS.length)]!);
      const op = (['INSERT', 'UPDATE', 'DELETE'] as const)[r(3)];
      const row = () => ({ id: `j${first + i}`, project_id: pick(), status: r(2) ? 'queued' : 'done' });
      return change(first + i, {
        table: r(6) === 0 ? 'projects' : 'extraction_jobs',
        op,
        newRow: op === 'DELETE' ? null : row(),
        oldRow: op === 'INSERT' ? null : row(),
        rowBytes: 50 + r(200),
      });
    });
  }

  function linear(run: LoggedChange[], b: PageBuilder<LoggedChange>): void {
    for (const c of run) if (!b.offer(c)) return;
  }

  function indexed(run: LoggedChange[], b: PageBuilder<LoggedChange>, projects: string[]): void {
    const first = run[0]!.seq;
    for (const i of candidatePositions(run, 'project_id', projects)) if (!b.skipTo(first + i) || !b.offer(run[i]!)) return;
    b.skipTo(first + run.length);
  }

  test('600 random runs, scopes and bounds', () => {
    const r = rng(20261208);
    for (let k = 0; k < 600; k++) {
      const after = r(50);
      const run = randomRun(r, after + 1, 1 + r(120));
      const projects = PROJECTS.filter(() => r(2) === 0);
      const scope: PickScope = { channel: 'extraction_jobs', projects, projectColumn: 'project_id', ...(r(3) === 0 ? { filter: { status: 'queued' } } : {}) };
      const bounds = { after, upTo: after + 1 + r(150), limit: 1 + r(40), maxBytes: 100 + r(3000) };
      const a = new PageBuilder(bounds, pickerFor(scope));
      const b = new PageBuilder(bounds, pickerFor(scope));
      linear(run, a);
      indexed(run, b, projects);
      expect(b.page(), `case ${k}`).toEqual(a.page());
      expect(b.done, `case ${k}`).toBe(a.done);
    }
  });

  test('positions follow the moved-from project too, each once, ascending', () => {
    const run = [
      change(1, { newRow: { project_id: 'p2' } }),
      change(2, { op: 'UPDATE', newRow: { project_id: 'p2' }, oldRow: { project_id: 'p1' } }),
      change(3, { op: 'DELETE', newRow: null, oldRow: { project_id: 'p1' } }),
      change(4, { newRow: { project_id: null } }),
    ];
    expect(candidatePositions(run, 'project_id', ['p1'])).toEqual([1, 2]);
    expect(candidatePositions(run, 'project_id', ['p2'])).toEqual([0, 1]);
    expect(candidatePositions(run, 'project_id', ['p1', 'p2'])).toEqual([0, 1, 2]);
    expect(candidatePositions(run, 'project_id', ['p9'])).toEqual([]);
  });
});
