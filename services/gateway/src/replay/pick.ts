// What a replay page read from memory (the ring of recent feed batches) or from the shared
// change log holds: exactly the changes the outbox's page query (reader.ts, pageQuery)
// would pick for the subscription, sized the same way. Pure, so that the in-memory
// sources and the SQL are held to the same rules by tables.
import type { Filter } from '@realtime/protocol';
import type { LoggedChange } from '../feed';

/** The part of a page query that decides which changes it picks. */
export interface PickScope {
  channel: string;
  filter?: Filter;
  /** Only changes of these projects (as text), or of every project when null. */
  projects: string[] | null;
  projectColumn: string | null;
}

/**
 * A row's value as `row ->> column` gives it in Postgres: null when the row or the value is
 * absent or JSON null, a string as it is, anything else as jsonb prints it.
 */
export function jsonText(row: Record<string, unknown> | null, column: string): string | null {
  if (row === null) return null;
  const v = row[column];
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : jsonbText(v);
}

/** jsonb's text form (`{"a": 1, "b": [1, 2]}`): separators with a space, keys in the order jsonb keeps. */
export function jsonbText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(jsonbText).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${jsonbText(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

/**
 * The project the capture trigger records for a change (project_id) and the one it moved
 * out of (moved_from): the new row's project column, else the old row's; an UPDATE whose
 * project column changed moved from the old row's.
 */
export function projectsOf(c: Pick<LoggedChange, 'op' | 'newRow' | 'oldRow'>, column: string): { project: string | null; movedFrom: string | null } {
  const project = c.newRow !== null ? jsonText(c.newRow, column) : jsonText(c.oldRow, column);
  const before = jsonText(c.oldRow, column);
  const movedFrom = c.op === 'UPDATE' && before !== jsonText(c.newRow, column) ? before : null;
  return { project, movedFrom };
}

/**
 * Whether the outbox's page query picks this change for the scope: its table is the
 * channel; every filter column other than the project column equals the value on the new
 * or the old row (`new_row ->> c = v OR old_row ->> c = v`); and, with projects named, its
 * project_id or moved_from is one of them.
 */
export function pickedBySql(c: LoggedChange, scope: PickScope): boolean {
  return pickerFor(scope)(c);
}

// Kept on the change under a symbol: a run of the change log is judged by every replay
// of a reconnect storm, and its projects are the same for each of them.
const PROJECTS_OF = Symbol('projects');

function keptProjectsOf(c: LoggedChange, column: string): { project: string | null; movedFrom: string | null } {
  const held = c as LoggedChange & { [PROJECTS_OF]?: { column: string; project: string | null; movedFrom: string | null } };
  const kept = held[PROJECTS_OF];
  if (kept && kept.column === column) return kept;
  const found = projectsOf(c, column);
  held[PROJECTS_OF] = { column, ...found };
  return found;
}

/**
 * `pickedBySql` for one scope, made once per page: a page from the log judges hundreds of
 * changes against the same scope, thousands of times over in a reconnect storm.
 */
export function pickerFor(scope: PickScope): (c: LoggedChange) => boolean {
  const others: [string, string][] = [];
  for (const [column, value] of Object.entries(scope.filter ?? {})) {
    if (value === null || column === scope.projectColumn) continue;
    others.push([column, String(value)]);
  }
  const { channel, projectColumn } = scope;
  const projects = scope.projects === null ? null : new Set(scope.projects);
  return (c) => {
    if (c.table !== channel) return false;
    for (const [column, wanted] of others) {
      if (jsonText(c.newRow, column) !== wanted && jsonText(c.oldRow, column) !== wanted) return false;
    }
    if (projects === null) return true;
    // Without a project column the trigger records no project, and `project_id = …` holds for none.
    if (projectColumn === null) return false;
    const { project, movedFrom } = keptProjectsOf(c, projectColumn);
    return (project !== null && projects.has(project)) || (movedFrom !== null && projects.has(movedFrom));
  };
}

// A run's changes by the projects they belong to, kept on the run (a shared, immutable
// array): each of a storm's replays then visits its own project's changes, not the run.
const INDEX_OF = Symbol('index');

interface RunIndex {
  column: string;
  byProject: Map<string, number[]>;
}

/**
 * The positions in `run`, ascending, of the changes a scope naming `projects` can pick:
 * those whose project or moved-from project (the capture trigger's, `projectsOf`) is one
 * of them. Every other change of the run fails `pickerFor` on its projects alone.
 */
export function candidatePositions(run: readonly LoggedChange[], column: string, projects: readonly string[]): readonly number[] {
  const held = run as readonly LoggedChange[] & { [INDEX_OF]?: RunIndex };
  let index = held[INDEX_OF];
  if (!index || index.column !== column) {
    const byProject = new Map<string, number[]>();
    const add = (project: string, i: number) => {
      let at = byProject.get(project);
      if (!at) byProject.set(project, (at = []));
      if (at[at.length - 1] !== i) at.push(i);
    };
    for (let i = 0; i < run.length; i++) {
      const { project, movedFrom } = keptProjectsOf(run[i]!, column);
      if (project !== null) add(project, i);
      if (movedFrom !== null) add(movedFrom, i);
    }
    index = { column, byProject };
    held[INDEX_OF] = index;
  }
  if (projects.length === 1) return index.byProject.get(projects[0]!) ?? [];
  const all = new Set<number>();
  for (const p of projects) for (const i of index.byProject.get(p) ?? []) all.add(i);
  return [...all].sort((a, b) => a - b);
}

/** The bounds of one page, as pageQuery takes them. */
export interface PageBounds {
  after: number;
  upTo: number;
  limit: number;
  maxBytes: number;
}

export interface MemoryPage<T> {
  changes: T[];
  /** Whether changes may remain in (through, upTo]. */
  more: boolean;
  /** Every change in (after, through] was judged: the next page starts after it. */
  through: number;
}

/**
 * Builds a page from changes offered in seq order, one after another from after + 1: the
 * picked ones, at most `limit`, and each only while those before it take less than
 * `maxBytes` (the first always), as the SQL sizes its pages.
 */
export class PageBuilder<T extends LoggedChange> {
  private readonly picked: T[] = [];
  private bytes = 0;
  private judged: number;
  private complete = false;

  constructor(
    private readonly bounds: PageBounds,
    private readonly picks: (c: T) => boolean,
  ) {
    this.judged = bounds.after;
  }

  /** The seq the next offer must have. */
  get next(): number {
    return this.judged + 1;
  }

  get done(): boolean {
    return this.complete;
  }

  /**
   * Every change from `next` up to `seq` (excluded) is one the page does not pick: judged
   * without being offered (candidatePositions knows). False once the page is complete.
   */
  skipTo(seq: number): boolean {
    if (this.complete) return false;
    if (seq <= this.judged + 1) return true;
    this.judged = Math.min(seq - 1, this.bounds.upTo);
    if (this.judged >= this.bounds.upTo) this.complete = true;
    return !this.complete;
  }

  /** Takes the next change (seq = next); false once the page is complete and takes no more. */
  offer(c: T): boolean {
    if (this.complete) return false;
    if (c.seq !== this.judged + 1) throw new RangeError(`a page is built from dense seqs: offered ${c.seq} after ${this.judged}`);
    if (c.seq > this.bounds.upTo) {
      this.complete = true;
      return false;
    }
    if (this.picks(c)) {
      if (this.picked.length > 0 && this.bytes >= this.bounds.maxBytes) {
        this.complete = true;
        return false;
      }
      this.picked.push(c);
      this.bytes += c.rowBytes;
    }
    this.judged = c.seq;
    if (this.picked.length >= this.bounds.limit) this.complete = true;
    if (this.judged >= this.bounds.upTo) this.complete = true;
    return !this.complete;
  }

  page(): MemoryPage<T> {
    return { changes: this.picked, more: this.judged < this.bounds.upTo, through: this.judged };
  }
}
