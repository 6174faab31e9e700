// One project: its extraction jobs (status, live progress, duration), results, data
// layers and supplier matches, each list live, with forms to create, edit and delete.
import { useState, type FormEvent } from 'react';
import type { ApiError } from '../api';
import { useExtractionJobsLive, useProjectsLive } from '../realtime/react';
import { duration } from './format';
import { useLayersLive, useMatchesLive, useNow, useResultsLive, useWrite } from './hooks';

function Progress({ value, status }: { value: number; status: string }) {
  return (
    <div className={`progress progress-${status}`} role="progressbar" aria-valuenow={value} aria-valuemin={0} aria-valuemax={100}>
      <div style={{ width: `${value}%` }} />
      <span>{value}%</span>
    </div>
  );
}

function ProjectHeader({ id }: { id: string }) {
  const { data } = useProjectsLive();
  const project = data?.items.find((p) => p.id === id);
  const { update } = useWrite('projects');
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState('');
  if (!data) return <p className="muted">Loading…</p>;
  if (!project) return <p className="error">This project no longer exists. <a href="#/">Back to projects</a></p>;
  const save = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ id, name }, { onSuccess: () => setEditing(false) });
  };
  return (
    <div className="page-head">
      <div>
        <a href="#/" className="muted small">← Projects</a>
        {editing ? (
          <form className="inline-form" onSubmit={save}>
            <input value={name} onChange={(e) => setName(e.target.value)} autoFocus required />
            <button type="submit">Save</button>
            <button type="button" className="ghost" onClick={() => setEditing(false)}>Cancel</button>
          </form>
        ) : (
          <h1 onDoubleClick={() => (setName(String(project.name)), setEditing(true))} title="Double-click to rename">
            {String(project.name)}
          </h1>
        )}
        <p className="muted">{String(project.description || '')}</p>
      </div>
    </div>
  );
}

function Jobs({ projectId }: { projectId: string }) {
  const { data } = useExtractionJobsLive(projectId);
  const { create, remove, update } = useWrite('extraction-jobs');
  const [doc, setDoc] = useState('');
  const now = useNow(1000);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ projectId, documentName: doc }, { onSuccess: () => setDoc('') });
  };
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Extraction jobs <span className="count">{data?.items.length ?? 0}</span></h2>
        <form className="inline-form" onSubmit={submit}>
          <input placeholder="document.pdf" value={doc} onChange={(e) => setDoc(e.target.value)} required />
          <button type="submit">Add job</button>
        </form>
      </div>
      {create.error ? <p className="error">{(create.error as ApiError).message}</p> : null}
      <table data-testid="jobs">
        <thead>
          <tr><th>Document</th><th>Status</th><th>Progress</th><th>Duration</th><th /></tr>
        </thead>
        <tbody>
          {data?.items.map((j) => (
            <tr key={j.id} data-testid="job" data-id={j.id} data-status={String(j.status)}>
              <td>{String(j.documentName)}{j.error ? <div className="error small">{String(j.error)}</div> : null}</td>
              <td><span className={`badge status-${String(j.status)}`}>{String(j.status)}</span></td>
              <td><Progress value={Number(j.progress)} status={String(j.status)} /></td>
              <td className="muted">{duration(j.startedAt, j.finishedAt, now)}</td>
              <td className="actions">
                {j.status === 'queued' ? <button className="ghost" onClick={() => update.mutate({ id: j.id, status: 'processing', startedAt: new Date().toISOString() })}>Start</button> : null}
                <button className="ghost danger" onClick={() => remove.mutate(j.id)}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.items.length === 0 ? <p className="muted">No jobs: add a document above.</p> : null}
    </section>
  );
}

function Results({ projectId }: { projectId: string }) {
  const { data } = useResultsLive(projectId);
  return (
    <section className="panel">
      <h2>Results <span className="count">{data?.items.length ?? 0}</span></h2>
      <table>
        <thead><tr><th>Field</th><th>Value</th><th>Confidence</th><th>Page</th></tr></thead>
        <tbody>
          {data?.items.slice(0, 50).map((r) => (
            <tr key={r.id}><td>{String(r.fieldName)}</td><td>{String(r.value)}</td><td>{Math.round(Number(r.confidence) * 100)}%</td><td>{r.page == null ? '—' : String(r.page)}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Layers({ projectId }: { projectId: string }) {
  const { data } = useLayersLive(projectId);
  const { create, update, remove } = useWrite('data-layers');
  const [name, setName] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ projectId, name, kind: 'vector', source: 'upload://manual' }, { onSuccess: () => setName('') });
  };
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Data layers <span className="count">{data?.items.length ?? 0}</span></h2>
        <form className="inline-form" onSubmit={submit}>
          <input placeholder="Layer name" value={name} onChange={(e) => setName(e.target.value)} required />
          <button type="submit">Add</button>
        </form>
      </div>
      <ul className="rows">
        {data?.items.map((l) => (
          <li key={l.id}>
            <label><input type="checkbox" checked={Boolean(l.visible)} onChange={(e) => update.mutate({ id: l.id, visible: e.target.checked })} /> {String(l.name)}</label>
            <span className="muted small">{String(l.kind)} · {String(l.source)}</span>
            <button className="ghost danger" onClick={() => remove.mutate(l.id)}>Delete</button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Matches({ projectId }: { projectId: string }) {
  const { data } = useMatchesLive(projectId);
  const { update } = useWrite('supplier-matches');
  return (
    <section className="panel">
      <h2>Supplier matches <span className="count">{data?.items.length ?? 0}</span></h2>
      <ul className="rows">
        {data?.items.slice(0, 50).map((m) => (
          <li key={m.id}>
            <span>{String(m.supplierName)}</span>
            <span className="muted small">score {Math.round(Number(m.score) * 100)}%</span>
            <select value={String(m.status)} onChange={(e) => update.mutate({ id: m.id, status: e.target.value })}>
              <option value="pending">pending</option>
              <option value="confirmed">confirmed</option>
              <option value="rejected">rejected</option>
            </select>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProjectPage({ id }: { id: string }) {
  return (
    <>
      <ProjectHeader id={id} />
      <Jobs projectId={id} />
      <div className="grid">
        <Results projectId={id} />
        <div>
          <Layers projectId={id} />
          <Matches projectId={id} />
        </div>
      </div>
    </>
  );
}
