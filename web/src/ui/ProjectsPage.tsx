// The signed-in user's projects, newest first, live: created, renamed, deleted and
// shared ones appear and vanish without a refresh. Only owners may delete a project.
import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { meQuery } from '../qk';
import { useProjectsLive } from '../live';
import { can, roleIn } from '../roles';
import { Errors } from './Errors';
import { ago } from './format';
import { useMe, useNow, useWrite } from './hooks';

export function ProjectsPage() {
  const { data, isLoading, error } = useProjectsLive();
  const me = useMe();
  const qc = useQueryClient();
  const { create, remove } = useWrite('projects');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const now = useNow(5000);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name, description },
      {
        onSuccess: () => {
          setName('');
          setDescription('');
          // The creator owns the new project: their roles changed.
          void qc.invalidateQueries({ queryKey: meQuery.queryKey });
        },
      },
    );
  };
  return (
    <section>
      <div className="page-head">
        <h1>Projects</h1>
        <form className="inline-form create-form" onSubmit={submit} aria-label="New project">
          <input placeholder="New project name" aria-label="New project name" value={name} onChange={(e) => setName(e.target.value)} required />
          <input placeholder="Description" aria-label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <button type="submit" disabled={create.isPending}>
            Create
          </button>
        </form>
      </div>
      <Errors of={[create, remove]} />
      {error ? <p className="error">Could not load projects: {error.message}</p> : null}
      {isLoading ? <p className="muted">Loading…</p> : null}
      <ul className="cards" data-testid="projects">
        {data?.items.map((p) => {
          const role = roleIn(me, p.id);
          return (
            <li key={p.id} className="card" data-testid="project" data-id={p.id}>
              <a href={`#/projects/${p.id}`} className="card-main">
                <strong>{p.name}</strong>
                <span className="muted">{p.description || 'No description'}</span>
              </a>
              <div className="card-side">
                {role ? <span className="badge">{role}</span> : null}
                <span className={`badge status-${p.status}`}>{p.status}</span>
                <span className="muted small">{ago(p.createdAt, now)}</span>
                {can(role, 'delete-project') ? (
                  <button className="ghost danger" title="Delete project" onClick={() => confirm(`Delete ${p.name} and everything in it?`) && remove.mutate(p.id)}>
                    Delete
                  </button>
                ) : null}
              </div>
            </li>
          );
        })}
      </ul>
      {data && data.items.length === 0 ? <p className="muted">No projects yet: create one above, or ask an owner to add you to theirs.</p> : null}
    </section>
  );
}
