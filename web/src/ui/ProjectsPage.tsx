// The signed-in user's projects, newest first, live: created, renamed, deleted and
// shared ones appear and vanish without a refresh. Only owners may delete a project.
// Writes are queued (writes.tsx): a project created offline shows at once, marked pending.
import { useState, type FormEvent } from 'react';
import { useProjectsLive } from '../live';
import { can, roleIn } from '../roles';
import { useOverlay, useWrite } from '../writes';
import { ago } from './format';
import { useMe, useNow } from './hooks';
import { PendingMark } from './Writes';
import { Invitations } from './Invitations';

export function ProjectsPage() {
  const { data, isLoading, error } = useProjectsLive();
  const { items, marks } = useOverlay('projects', data?.items);
  const me = useMe();
  const { create, remove } = useWrite('projects');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const now = useNow(5000);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create({ name, description });
    setName('');
    setDescription('');
  };
  return (
    <section>
      <div className="page-head">
        <h1>Projects</h1>
        <form className="inline-form create-form" onSubmit={submit} aria-label="New project">
          <input placeholder="New project name" aria-label="New project name" value={name} onChange={(e) => setName(e.target.value)} required />
          <input placeholder="Description" aria-label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <button type="submit">Create</button>
        </form>
      </div>
      <Invitations />
      {error ? <p className="error">Could not load projects: {error.message}</p> : null}
      {isLoading ? <p className="muted">Loading…</p> : null}
      <ul className="cards" data-testid="projects">
        {items.map((p) => {
          const role = roleIn(me, p.id);
          const mark = marks.get(p.id);
          // A project made here and not yet applied: its creator will own it.
          const mayDelete = can(role, 'delete-project') || !!mark?.created;
          return (
            <li key={p.id} className={`card${mark ? ` card-${mark.kind === 'delete' ? 'deleting' : 'pending'}` : ''}`} data-testid="project" data-id={p.id} data-pending={mark?.state}>
              <a href={`#/projects/${p.id}`} className="card-main">
                <strong>{p.name}</strong>
                <span className="muted">{p.description || 'No description'}</span>
              </a>
              <div className="card-side">
                <PendingMark mark={mark} />
                {role ? <span className="badge">{role}</span> : null}
                <span className={`badge status-${p.status}`}>{p.status}</span>
                <span className="muted small">{ago(p.createdAt, now)}</span>
                {mayDelete && mark?.kind !== 'delete' ? (
                  <button className="ghost danger" title="Delete project" onClick={() => confirm(`Delete ${p.name} and everything in it?`) && remove(p)}>
                    Delete
                  </button>
                ) : null}
              </div>
            </li>
          );
        })}
      </ul>
      {data && items.length === 0 ? <p className="muted">No projects yet: create one above, or ask an owner to invite you to theirs.</p> : null}
    </section>
  );
}
