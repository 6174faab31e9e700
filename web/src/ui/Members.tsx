// A project's members: every member sees who is in it; owners invite people by email
// (the invitee joins on accepting), see and cancel pending invitations, change roles and
// remove members; anyone may leave. Roles are re-read after each change. Members are
// not a streamed table: the list is read a page at a time in email order (the true count
// in the heading, more as the end scrolls into view) and read again after each change.
import { useMemo, useState, type FormEvent } from 'react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { MemberRole } from '@realtime/api/types';
import { api, type ApiError } from '../api';
import { invitationsQuery, meQuery, membersQuery, qk } from '../qk';
import { can } from '../roles';
import { Errors } from './Errors';
import { TableScroll } from './TableScroll';
import { useMe } from './hooks';
import { MoreRows, Total } from './ListWindow';

const roles: MemberRole[] = ['viewer', 'editor', 'owner'];

export function Members({ projectId, role }: { projectId: string; role: MemberRole | undefined }) {
  const qc = useQueryClient();
  const me = useMe();
  const members = useInfiniteQuery(membersQuery(projectId));
  const { data, error } = members;
  const rows = useMemo(() => (data?.pages ?? []).flatMap((p) => p.items), [data]);
  const total = data?.pages[0]?.page.total;
  const manage = can(role, 'manage-members');
  const [email, setEmail] = useState('');
  const [newRole, setNewRole] = useState<MemberRole>('viewer');
  // Our own role may be the one that changed.
  const changed = () => Promise.all([qc.invalidateQueries({ queryKey: membersQuery(projectId).queryKey }), qc.invalidateQueries({ queryKey: meQuery.queryKey })]);
  const invitations = useQuery({ ...invitationsQuery(projectId), enabled: manage });
  const pendingChanged = () => qc.invalidateQueries({ queryKey: invitationsQuery(projectId).queryKey });
  const invite = useMutation({ mutationFn: (v: { email: string; role: MemberRole }) => api.invite(projectId, v.email, v.role), onSuccess: pendingChanged });
  const cancel = useMutation({ mutationFn: (id: string) => api.cancelInvitation(projectId, id), onSuccess: pendingChanged });
  const change = useMutation({ mutationFn: (v: { userId: string; role: MemberRole }) => api.setRole(projectId, v.userId, v.role), onSuccess: changed });
  const remove = useMutation({
    mutationFn: (userId: string) => api.removeMember(projectId, userId),
    // Having left, the project is no longer ours to list.
    onSuccess: (_, userId) => Promise.all([changed(), userId === me?.user.id ? qc.invalidateQueries({ queryKey: qk.projects.all }) : null]),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate({ email: email.trim(), role: newRole }, { onSuccess: () => setEmail('') });
  };
  const describe = (e: ApiError) => (e.code === 'CONFLICT' && change.error === e ? 'A project keeps at least one owner: make someone else an owner first' : e.message);
  const pending = manage ? (invitations.data?.items ?? []) : [];
  return (
    <section className="panel" data-testid="members">
      <div className="panel-head">
        <h2>Members <Total total={total} label="members" /></h2>
        {manage ? (
          <form className="inline-form" onSubmit={submit}>
            <input type="email" placeholder="Email" aria-label="Email to invite" value={email} onChange={(e) => setEmail(e.target.value)} required />
            <select value={newRole} onChange={(e) => setNewRole(e.target.value as MemberRole)} aria-label="Role">
              {roles.map((r) => (
                <option key={r} value={r}>{r}</option>
              ))}
            </select>
            <button type="submit" disabled={invite.isPending}>Invite</button>
          </form>
        ) : null}
      </div>
      <Errors of={[invite, cancel, change, remove]} describe={describe} />
      {invite.isSuccess ? (
        <p className="muted small" role="status">
          Invited {invite.data.email}: they join once they accept.
        </p>
      ) : null}
      {error ? <p className="error">Could not load members: {error.message}</p> : null}
      <TableScroll label="Members">
        <table>
          <thead>
            <tr><th>Name</th><th>Email</th><th>Role</th><th><span className="sr-only">Actions</span></th></tr>
          </thead>
          <tbody>
            {rows.map((m) => {
              const self = m.userId === me?.user.id;
              return (
                <tr key={m.userId} data-testid="member" data-email={m.email}>
                  <td>{m.name || '—'}{self ? <span className="muted small"> (you)</span> : null}</td>
                  <td className="muted">{m.email}</td>
                  <td>
                    {manage ? (
                      <select value={m.role} disabled={change.isPending} onChange={(e) => change.mutate({ userId: m.userId, role: e.target.value as MemberRole })} aria-label={`Role of ${m.email}`}>
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
      <MoreRows pages={members} shown={rows.length} total={total} one="member" watch />
      {invitations.error ? <p className="error">Could not load invitations: {invitations.error.message}</p> : null}
      {pending.length > 0 ? (
        <>
          <h3>Pending invitations <span className="count">{pending.length}</span></h3>
          <ul className="plain-list" data-testid="invitations">
            {pending.map((i) => (
              <li key={i.id} data-testid="invitation" data-email={i.email}>
                <span>{i.email}</span> <span className="badge">{i.role}</span>{' '}
                <button className="ghost danger" disabled={cancel.isPending} onClick={() => cancel.mutate(i.id)} aria-label={`Cancel the invitation of ${i.email}`}>
                  Cancel
                </button>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
