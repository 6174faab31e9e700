// The signed-in user's pending invitations, with Accept and Decline. Invitations are not
// streamed (nothing of a project reaches its invitee before they accept), so the list is
// read on mount and on focus; accepting re-reads the session, whose memberships list the
// project, and the live project list then shows it.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { MyInvitation } from '@realtime/api/types';
import { api } from '../api';
import { meQuery, myInvitationsQuery, qk } from '../qk';
import { Errors } from './Errors';

export function Invitations() {
  const qc = useQueryClient();
  const { data, error } = useQuery({ ...myInvitationsQuery, refetchOnWindowFocus: true });
  // The answered invitation leaves the list at once, before the re-read: the project it
  // opens may already have arrived over the stream, and both must not show together.
  const settled = (id: string) => {
    qc.setQueryData<{ items: MyInvitation[] }>(myInvitationsQuery.queryKey, (old) => (old ? { ...old, items: old.items.filter((i) => i.id !== id) } : old));
    return qc.invalidateQueries({ queryKey: myInvitationsQuery.queryKey });
  };
  const accept = useMutation({
    mutationFn: api.acceptInvitation,
    onSuccess: (_member, id) => Promise.all([settled(id), qc.invalidateQueries({ queryKey: meQuery.queryKey }), qc.invalidateQueries({ queryKey: qk.projects.all })]),
  });
  const decline = useMutation({ mutationFn: api.declineInvitation, onSuccess: (_none, id) => settled(id) });
  const items = data?.items ?? [];
  if (items.length === 0 && !error) return <Errors of={[accept, decline]} />;
  return (
    <section className="panel" data-testid="my-invitations">
      <h2>Invitations <span className="count">{items.length}</span></h2>
      {error ? <p className="error">Could not load your invitations: {error.message}</p> : null}
      <Errors of={[accept, decline]} />
      <ul className="plain-list">
        {items.map((i) => (
          <li key={i.id} data-testid="my-invitation" data-project={i.projectId}>
            <span>
              <strong>{i.projectName}</strong> as <span className="badge">{i.role}</span>
              {i.invitedBy ? <span className="muted small"> from {i.invitedBy.name || i.invitedBy.email}</span> : null}
            </span>
            <button disabled={accept.isPending} onClick={() => accept.mutate(i.id)}>Accept</button>
            <button className="ghost danger" disabled={decline.isPending} onClick={() => decline.mutate(i.id)}>Decline</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
