// A project's members: every member sees who is in it; owners add people by email,
// change roles and remove members; anyone may leave. Roles are re-read after each change.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { MemberRole } from '@realtime/protocol';
import { api, type ApiError } from '../api';
import { meQuery, membersQuery, qk } from '../qk';
import { can } from '../roles';
import { Errors } from './Errors';
import { TableScroll } from './TableScroll';
import { useMe } from './hooks';

const roles: MemberRole[] = ['viewer', 'editor', 'owner'];

export function Members({ projectId, role }: { projectId: string; role: MemberRole | undefined }) {
  const qc = useQueryClient();
  const me = useMe();
  const { data, error } = useQuery(membersQuery(projectId));
  const manage = can(role, 'manage-members');
  const [email, setEmail] = useState('');
  const [newRole, setNewRole] = useState<MemberRole>('viewer');
  // Our own role may be the one that changed.
  const changed = () => Promise.all([qc.invalidateQueries({ queryKey: membersQuery(projectId).queryKey }), qc.invalidateQueries({ queryKey: meQuery.queryKey })]);
  const add = useMutation({ mutationFn: (v: { email: string; role: MemberRole }) => api.addMember(projectId, v.email, v.role), onSuccess: changed });
  const change = useMutation({ mutationFn: (v: { email: string; role: MemberRole }) => api.addMember(projectId, v.email, v.role), onSuccess: changed });
  const remove = useMutation({
    mutationFn: (userId: string) => api.removeMember(projectId, userId),
    // Having left, the project is no longer ours to list.
    onSuccess: (_, userId) => Promise.all([changed(), userId === me?.user.id ? qc.invalidateQueries({ queryKey: qk.projects.all }) : null]),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ email: email.trim(), role: newRole }, { onSuccess: () => setEmail('') });
  };
  const describe = (e: ApiError) => (e.code === 'NOT_FOUND' && add.error === e ? `No account with the email ${add.variables?.email ?? ''}` : e.message);
  return (
    <section className="panel" data-testid="members">
      <div className="panel-head">
        <h2>Members <span className="count">{data?.items.length ?? 0}</span></h2>
        {manage ? (
          <form className="inline-form" onSubmit={submit}>
            <input type="email" placeholder="Email" aria-label="Email of the new member" value={email} onChange={(e) => setEmail(e.target.value)} required />
            <select value={newRole} onChange={(e) => setNewRole(e.target.value as MemberRole)} aria-label="Role">
              {roles.map((r) => (
                <option key={r} value={r}>{r}</option>
              ))}
            </select>
            <button type="submit" disabled={add.isPending}>Add member</button>
          </form>
        ) : null}
      </div>
      <Errors of={[add, change, remove]} describe={describe} />
      {error ? <p className="error">Could not load members: {error.message}</p> : null}
      <TableScroll label="Members">
        <table>
          <thead>
            <tr><th>Name</th><th>Email</th><th>Role</th><th><span className="sr-only">Actions</span></th></tr>
          </thead>
          <tbody>
            {data?.items.map((m) => {
              const self = m.userId === me?.user.id;
              return (
                <tr key={m.userId} data-testid="member" data-email={m.email}>
                  <td>{m.name || '—'}{self ? <span className="muted small"> (you)</span> : null}</td>
                  <td className="muted">{m.email}</td>
                  <td>
                    {manage ? (
                      <select value={m.role} disabled={change.isPending} onChange={(e) => change.mutate({ email: m.email, role: e.target.value as MemberRole })} aria-label={`Role of ${m.email}`}>
                        {roles.map((r) => (
                          <option key={r} value={r}>{r}</option>
                        ))}
                      </select>
                    ) : (
                      <span className="badge">{m.role}</span>
                    )}
                  </td>
                  <td className="actions">
                    {manage || self ? (
                      <button
                        className="ghost danger"
                        disabled={remove.isPending}
                        onClick={() => (self ? confirm('Leave this project? You will lose access to it.') : confirm(`Remove ${m.email} from this project?`)) && remove.mutate(m.userId)}
                      >
                        {self ? 'Leave' : 'Remove'}
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableScroll>
    </section>
  );
}
