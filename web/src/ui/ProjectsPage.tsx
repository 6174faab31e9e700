// All projects, newest first, live: created, renamed and deleted ones appear and vanish
// without a refresh.
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { useProjectsLive } from '../realtime/react';
import { ago } from './format';
import { useNow, useWrite } from './hooks';

export function ProjectsPage() {
  const { data, isLoading, error } = useProjectsLive();
  const { create, remove } = useWrite('projects');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const now = useNow(5000);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name, description }, { onSuccess: () => (setName(''), setDescription('')) });
  };
  return (
    <section>
      <div className="page-head">
        <h1>Projects</h1>
        <form className="inline-form" onSubmit={submit}>
          <input placeholder="New project name" value={name} onChange={(e) => setName(e.target.value)} required />
          <input placeholder="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <button type="submit" disabled={create.isPending}>
            Create
          </button>
        </form>
      </div>
      {create.error ? <p className="error">{(create.error as ApiError).message}</p> : null}
      {error ? <p className="error">Could not load projects: {(error as Error).message}</p> : null}
      {isLoading ? <p className="muted">Loading…</p> : null}
      <ul className="cards" data-testid="projects">
        {data?.items.map((p) => (
          <li key={p.id} className="card" data-testid="project">
            <a href={`#/projects/${p.id}`} className="card-main">
              <strong>{String(p.name)}</strong>
              <span className="muted">{String(p.description || 'No description')}</span>
            </a>
            <div className="card-side">
              <span className={`badge status-${String(p.status)}`}>{String(p.status)}</span>
              <span className="muted small">{ago(p.createdAt, now)}</span>
              <button className="ghost danger" title="Delete project" onClick={() => confirm(`Delete ${String(p.name)} and everything in it?`) && remove.mutate(p.id)}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {data && data.items.length === 0 ? <p className="muted">No projects yet: create one above.</p> : null}
    </section>
  );
}
