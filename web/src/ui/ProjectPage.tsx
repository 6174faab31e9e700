// One project: its extraction jobs (status, live progress, duration), results, data
// layers, supplier matches and members, each list live. Jobs, results and matches are
// windows of any size: the true total, the rows loaded a page at a time as the list is
// scrolled, the two tables rendering only the rows in view. The forms to create, edit and
// delete are offered to the roles that may use them. A revoked project says so.
import { memo, useCallback, useRef, useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { MemberRole } from '@realtime/api/types';
import { isApiError } from '../api';
import { jobStatuses, projectQuery, type JobsFilter } from '../qk';
import { useProjectsLive } from '../live';
import type { Mark } from '../overlay';
import type { ExtractionJob, ExtractionResult, Project } from '../rows';
import { can } from '../roles';
import { useOverlay, useWrite } from '../writes';
import { TableScroll } from './TableScroll';
import { duration } from './format';
import { useJobsWindow, useLayersLive, useMatchesWindow, useResultsWindow, useRole, useTick } from './hooks';
import { MoreRows, Total, WindowRows, useWindowRows } from './ListWindow';
import { Members } from './Members';
import { PendingMark } from './Writes';

/** Rows of this project only: what a child list created offline belongs in. */
const useOfProject = (projectId: string) => useCallback((row: Record<string, unknown>) => row.projectId === projectId, [projectId]);

function Progress({ value, status, label }: { value: number; status: string; label: string }) {
  return (
    <div className={`progress progress-${status}`} role="progressbar" aria-label={label} aria-valuenow={value} aria-valuemin={0} aria-valuemax={100}>
      <div style={{ width: `${value}%` }} />
      <span>{value}%</span>
    </div>
  );
}

function ProjectHeader({ project, role, mark }: { project: Project; role: MemberRole | undefined; mark: Mark | undefined }) {
  const { update, remove } = useWrite('projects');
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState('');
  // A project made here and not yet applied: its creator will own it.
  const owner = can(role, 'edit-project') || !!mark?.created;
  const save = (e: FormEvent) => {
    e.preventDefault();
    update(project, { name });
    setEditing(false);
  };
  const rename = () => {
    setName(project.name);
    setEditing(true);
  };
  return (
    <>
      <div className="page-head">
        <div>
          <a href="#/" className="muted small">← Projects</a>
          {editing ? (
            <form className="inline-form" onSubmit={save}>
              <input aria-label="Project name" value={name} onChange={(e) => setName(e.target.value)} autoFocus required />
              <button type="submit">Save</button>
              <button type="button" className="ghost" onClick={() => setEditing(false)}>Cancel</button>
            </form>
          ) : (
            <h1 onDoubleClick={owner ? rename : undefined} title={owner ? 'Double-click to rename' : undefined} data-testid="project-name">
              {project.name}<PendingMark mark={mark} />
            </h1>
          )}
          <p className="muted">{project.description}</p>
        </div>
        <div className="inline-form">
          {role ? <span className="badge" data-testid="role">{role}</span> : null}
          {owner && !editing ? <button className="ghost" onClick={rename}>Rename</button> : null}
          {can(role, 'delete-project') || mark?.created ? (
            <button
              className="ghost danger"
              onClick={() => {
                if (!confirm(`Delete ${project.name} and everything in it?`)) return;
                remove(project);
                window.location.hash = '#/';
              }}
            >
              Delete project
            </button>
          ) : null}
        </div>
      </div>
    </>
  );
}

const jobStatusLabel = (s: JobsFilter['status']) => s ?? 'all statuses';

/** A job row, rendered again only when its job or its pending mark changes. */
const JobRow = memo(function JobRow({ job: j, mark, canWrite, index, measure }: { job: ExtractionJob; mark: Mark | undefined; canWrite: boolean; index: number; measure: (el: HTMLTableRowElement | null) => void }) {
  const { remove, update } = useWrite('extraction-jobs');
  return (
    <tr ref={measure} data-index={index} data-key={j.id} aria-rowindex={index + 2} data-testid="job" data-id={j.id} data-status={j.status} data-pending={mark?.state}>
      <td>{j.documentName}<PendingMark mark={mark} />{j.error ? <div className="error small">{j.error}</div> : null}</td>
      <td><span className={`badge status-${j.status}`}>{j.status}</span></td>
      <td><Progress value={j.progress} status={j.status} label={`Progress of ${j.documentName}`} /></td>
      <td className="muted">
        {typeof j.startedAt === 'string' && typeof j.finishedAt !== 'string' ? <RunningFor since={j.startedAt} /> : duration(j.startedAt, j.finishedAt, 0)}
      </td>
      <td className="actions">
        {canWrite && j.status === 'queued' ? <button className="ghost" onClick={() => update(j, { status: 'processing', startedAt: new Date().toISOString() })}>Start</button> : null}
        {canWrite && mark?.kind !== 'delete' ? <button className="ghost danger" onClick={() => remove(j)}>Delete</button> : null}
      </td>
    </tr>
  );
});

/** A running job's duration: the one cell that follows the clock, and only while it is rendered (in view). */
function RunningFor({ since }: { since: string }) {
  const now = useTick(1000);
  return <>{duration(since, null, now)}</>;
}

const jobKey = (j: ExtractionJob) => j.id;

function Jobs({ projectId, canWrite }: { projectId: string; canWrite: boolean }) {
  const [status, setStatus] = useState<JobsFilter['status']>(undefined);
  const jobs = useJobsWindow(projectId, status ? { status } : {});
  // A job created here belongs in this list if its project and the status filter take it.
  const belongs = useCallback((row: Record<string, unknown>) => row.projectId === projectId && (!status || (row.status ?? 'queued') === status), [projectId, status]);
  const { items, marks } = useOverlay('extraction-jobs', jobs.data ? jobs.rows : undefined, belongs);
  const { create } = useWrite('extraction-jobs');
  const [doc, setDoc] = useState('');
  const scrollRef = useRef<HTMLDivElement>(null);
  const { virtualizer, bodyProps } = useWindowRows({ rows: items, keyOf: jobKey, scrollRef, estimate: 45, pages: jobs });
  const total = jobs.total === undefined ? undefined : jobs.total + (items.length - jobs.rows.length);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create({ projectId, documentName: doc });
    setDoc('');
  };
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Extraction jobs <Total total={total} label="jobs" /></h2>
        <div className="inline-form">
          <select aria-label="Show jobs by status" value={status ?? ''} onChange={(e) => setStatus((e.target.value || undefined) as JobsFilter['status'])} data-testid="job-status-filter">
            {[undefined, ...jobStatuses].map((s) => (
              <option key={s ?? ''} value={s ?? ''}>{jobStatusLabel(s)}</option>
            ))}
          </select>
          {canWrite ? (
            <form className="inline-form" onSubmit={submit}>
              <input placeholder="document.pdf" aria-label="Document name" value={doc} onChange={(e) => setDoc(e.target.value)} required />
              <button type="submit">Add job</button>
            </form>
          ) : null}
        </div>
      </div>
      {jobs.isError && !jobs.data ? <p className="error">Could not load jobs: {jobs.error.message}</p> : null}
      <TableScroll label="Extraction jobs" scrollRef={scrollRef}>
        <table data-testid="jobs" aria-rowcount={total === undefined ? undefined : total + 1}>
          <thead>
            <tr aria-rowindex={1}><th>Document</th><th>Status</th><th>Progress</th><th>Duration</th><th><span className="sr-only">Actions</span></th></tr>
          </thead>
          <tbody {...bodyProps}>
            <WindowRows rows={items} virtualizer={virtualizer} columns={5} row={(j, index, measure) => <JobRow key={j.id} job={j} mark={marks.get(j.id)} canWrite={canWrite} index={index} measure={measure} />} />
          </tbody>
        </table>
      </TableScroll>
      {jobs.isSuccess && total === 0 ? <p className="muted">{status ? `No ${status} jobs.` : canWrite ? 'No jobs: add a document above.' : 'No jobs yet.'}</p> : null}
      <MoreRows pages={jobs} shown={items.length} total={total} one="job" />
    </section>
  );
}

const resultKey = (r: ExtractionResult) => r.id;

function Results({ projectId }: { projectId: string }) {
  const results = useResultsWindow(projectId);
  const scrollRef = useRef<HTMLDivElement>(null);
  const { virtualizer, bodyProps } = useWindowRows({ rows: results.rows, keyOf: resultKey, scrollRef, estimate: 38, pages: results });
  return (
    <section className="panel">
      <h2>Results <Total total={results.total} label="results" /></h2>
      {results.isError && !results.data ? <p className="error">Could not load results: {results.error.message}</p> : null}
      <TableScroll label="Results" scrollRef={scrollRef}>
        <table data-testid="results" aria-rowcount={results.total === undefined ? undefined : results.total + 1}>
          <thead><tr aria-rowindex={1}><th>Field</th><th>Value</th><th>Confidence</th><th>Page</th></tr></thead>
          <tbody {...bodyProps}>
            <WindowRows
              rows={results.rows}
              virtualizer={virtualizer}
              columns={4}
              row={(r, index, measure) => (
                <tr key={r.id} ref={measure} data-index={index} data-key={r.id} aria-rowindex={index + 2} data-testid="result">
                  <td>{r.fieldName}</td><td>{r.value}</td><td>{Math.round(r.confidence * 100)}%</td><td>{r.page == null ? '—' : String(r.page)}</td>
                </tr>
              )}
            />
          </tbody>
        </table>
      </TableScroll>
      <MoreRows pages={results} shown={results.rows.length} total={results.total} one="result" />
    </section>
  );
}

function Layers({ projectId, canWrite }: { projectId: string; canWrite: boolean }) {
  const { data } = useLayersLive(projectId);
  const { items, marks } = useOverlay('data-layers', data?.items, useOfProject(projectId));
  const loaded = data !== undefined || items.length > 0;
  const { create, update, remove } = useWrite('data-layers');
  const [name, setName] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create({ projectId, name, kind: 'vector', source: 'upload://manual' });
    setName('');
  };
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Data layers <Total total={loaded ? items.length : undefined} label="data layers" /></h2>
        {canWrite ? (
          <form className="inline-form" onSubmit={submit}>
            <input placeholder="Layer name" aria-label="Layer name" value={name} onChange={(e) => setName(e.target.value)} required />
            <button type="submit">Add</button>
          </form>
        ) : null}
      </div>
      <ul className="rows">
        {items.map((l) => (
          <li key={l.id} data-pending={marks.get(l.id)?.state}>
            <label><input type="checkbox" checked={l.visible} disabled={!canWrite} onChange={(e) => update(l, { visible: e.target.checked })} /> {l.name}</label>
            <span className="muted small">{l.kind} · {l.source}<PendingMark mark={marks.get(l.id)} /></span>
            {canWrite && marks.get(l.id)?.kind !== 'delete' ? <button className="ghost danger" onClick={() => remove(l)}>Delete</button> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Matches({ projectId, canWrite }: { projectId: string; canWrite: boolean }) {
  const matches = useMatchesWindow(projectId);
  const { items, marks } = useOverlay('supplier-matches', matches.data ? matches.rows : undefined, useOfProject(projectId));
  const { update } = useWrite('supplier-matches');
  return (
    <section className="panel">
      <h2>Supplier matches <Total total={matches.total} label="supplier matches" /></h2>
      {matches.isError && !matches.data ? <p className="error">Could not load supplier matches: {matches.error.message}</p> : null}
      <ul className="rows" data-testid="matches">
        {items.map((m) => (
          <li key={m.id} data-testid="match" data-pending={marks.get(m.id)?.state}>
            <span>{m.supplierName}</span>
            <span className="muted small">score {Math.round(Number(m.score) * 100)}%</span>
            <PendingMark mark={marks.get(m.id)} />
            <select value={m.status} disabled={!canWrite} aria-label={`Status of ${m.supplierName}`} onChange={(e) => update(m, { status: e.target.value })}>
              <option value="pending">pending</option>
              <option value="confirmed">confirmed</option>
              <option value="rejected">rejected</option>
            </select>
          </li>
        ))}
      </ul>
      <MoreRows pages={matches} shown={items.length} total={matches.total} one="match" many="matches" watch />
    </section>
  );
}

type Access = { state: 'loading' } | { state: 'gone' } | { state: 'error'; message: string } | { state: 'visible'; project: Project; mark: Mark | undefined };

/**
 * Whether the project is still there for this user. Revoked or deleted, it leaves the
 * live list (complete, so its absence means something) or its GET answers 404.
 */
function useProjectAccess(id: string): Access {
  const list = useProjectsLive();
  // With the queued writes: a project made offline opens before the server has it.
  const { items, marks } = useOverlay('projects', list.data?.items);
  const listed = items.find((p) => p.id === id);
  const mark = marks.get(id);
  const detail = useQuery({ ...projectQuery(id), enabled: !mark?.created });
  if (listed && mark?.created) return { state: 'visible', project: listed, mark };
  if (isApiError(detail.error, 404)) return { state: 'gone' };
  if (list.data && !listed && list.data.page.next === null) return { state: 'gone' };
  const project = listed ?? detail.data;
  if (project) return { state: 'visible', project, mark };
  if (list.error && detail.error) return { state: 'error', message: detail.error.message };
  return { state: 'loading' };
}

export function ProjectPage({ id }: { id: string }) {
  const access = useProjectAccess(id);
  const role = useRole(id);
  if (access.state === 'error') return <p className="error">Could not load this project: {access.message}</p>;
  if (access.state === 'gone') {
    return (
      <section className="panel" data-testid="no-access">
        <h2>You no longer have access to this project</h2>
        <p className="muted">It was deleted, or your membership was removed.</p>
        <a href="#/" className="link">← Back to projects</a>
      </section>
    );
  }
  const canWrite = can(role, 'write');
  // The lists mount while the project's own row is still on its way: their first pages
  // are read beside it rather than after it (the role comes from the session already).
  return (
    <>
      {access.state === 'visible' ? (
        <ProjectHeader project={access.project} role={role} mark={access.mark} />
      ) : (
        <div className="page-head">
          <div>
            <a href="#/" className="muted small">← Projects</a>
            <h1 className="muted" aria-busy="true">Loading…</h1>
          </div>
        </div>
      )}
      <Jobs projectId={id} canWrite={canWrite} />
      <div className="grid">
        <Results projectId={id} />
        <div>
          <Layers projectId={id} canWrite={canWrite} />
          <Matches projectId={id} canWrite={canWrite} />
        </div>
      </div>
      <Members projectId={id} role={role} />
    </>
  );
}
