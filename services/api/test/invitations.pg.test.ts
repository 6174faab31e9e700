// Invitations: an owner invites an address and learns nothing of whether it has an
// account; the invitee sees nothing of the project (lists, memberships, the outbox the
// stream is made of) until they accept, which makes the membership; declining and
// cancelling leave no trace but the invitation's absence.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let owner: TestUser;
let editor: TestUser;
let project: string;

beforeAll(async () => {
  fx = await startApi();
  owner = await fx.user('inv-owner@example.com', { name: 'Olivia Owner' });
  editor = await fx.user('inv-editor@example.com');
  project = (await fx.call('POST', '/api/projects', { name: 'Invited into' }, owner)).body.id;
  await fx.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'editor')`, [project, editor.id]);
});
afterAll(async () => {
  await fx?.close();
});

/** What an invitee can learn of `project`: its row, its membership, its pending invitation, and the outbox rows the stream would carry to them. */
async function seenBy(u: TestUser) {
  const [outbox] = await fx.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM change_outbox WHERE table_name = 'project_invitations' OR (table_name = 'project_members' AND coalesce(new_row ->> 'user_id', old_row ->> 'user_id') = $1)`,
    [u.id],
  );
  return {
    projects: (await fx.call('GET', '/api/projects', undefined, u)).body.items.map((p: { id: string }) => p.id),
    memberships: (await fx.call('GET', '/api/auth/me', undefined, u)).body.memberships,
    project: (await fx.call('GET', `/api/projects/${project}`, undefined, u)).status,
    streamed: outbox!.n,
  };
}

describe('inviting', () => {
  test('an address with an account and one without get the same answer, and neither names anyone', async () => {
    const known = await fx.user('known@example.com', { name: 'Known Person' });
    const a = await fx.call('POST', `/api/projects/${project}/invitations`, { email: known.email, role: 'viewer' }, owner);
    const b = await fx.call('POST', `/api/projects/${project}/invitations`, { email: 'nobody-here@example.com', role: 'viewer' }, owner);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    const shape = (body: Record<string, unknown>) => Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v]));
    expect(shape(a.body)).toEqual(shape(b.body));
    expect(Object.keys(a.body).sort()).toEqual(['createdAt', 'email', 'id', 'invitedBy', 'projectId', 'role', 'updatedAt']);
    expect(JSON.stringify(a.body)).not.toContain('Known Person');
    expect({ ...a.body, id: 'x', email: 'x', createdAt: 'x', updatedAt: 'x' }).toEqual({ ...b.body, id: 'x', email: 'x', createdAt: 'x', updatedAt: 'x' });
    // The pending list shows both the same way.
    const pending = await fx.call('GET', `/api/projects/${project}/invitations`, undefined, owner);
    expect(pending.status).toBe(200);
    expect(pending.body.items.map((i: { email: string }) => i.email)).toEqual([known.email, 'nobody-here@example.com']);
    expect(pending.body.items.map(shape)).toEqual([shape(a.body), shape(a.body)]);
  });

  test('an address is stored as the account would have it; inviting again changes the role', async () => {
    const first = await fx.call('POST', `/api/projects/${project}/invitations`, { email: '  Mixed.Case@Example.com ', role: 'viewer' }, owner);
    expect(first.status).toBe(201);
    expect(first.body.email).toBe('mixed.case@example.com');
    const again = await fx.call('POST', `/api/projects/${project}/invitations`, { email: 'mixed.case@example.com', role: 'editor' }, owner);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, role: 'editor' });
    expect((await fx.call('POST', `/api/projects/${project}/invitations`, { email: 'not an address', role: 'viewer' }, owner)).status).toBe(400);
  });

  test('only owners invite; a member is not invited again', async () => {
    expect((await fx.call('POST', `/api/projects/${project}/invitations`, { email: 'x@example.com', role: 'viewer' }, editor)).status).toBe(403);
    const member = await fx.call('POST', `/api/projects/${project}/invitations`, { email: editor.email, role: 'owner' }, owner);
    expect(member.status).toBe(409);
  });
});

describe('the invitee', () => {
  test('sees nothing of the project until they accept; accepting makes the membership, streamed', async () => {
    const invitee = await fx.user('invitee@example.com');
    const before = await seenBy(invitee);
    const invited = await fx.call('POST', `/api/projects/${project}/invitations`, { email: invitee.email, role: 'editor' }, owner);
    expect(invited.status).toBe(201);
    expect(await seenBy(invitee)).toEqual(before);
    expect(before).toMatchObject({ projects: [], memberships: [], project: 404 });

    // Their own invitation, with what they need to decide.
    const mine = await fx.call('GET', '/api/invitations', undefined, invitee);
    expect(mine.status).toBe(200);
    expect(mine.body.items).toEqual([
      { id: invited.body.id, projectId: project, projectName: 'Invited into', role: 'editor', invitedBy: { name: 'Olivia Owner', email: owner.email }, createdAt: invited.body.createdAt },
    ]);
    // Nobody else's.
    expect((await fx.call('GET', '/api/invitations', undefined, editor)).body.items).toEqual([]);
    expect((await fx.call('POST', `/api/invitations/${invited.body.id}/accept`, undefined, editor)).status).toBe(404);
    expect((await fx.call('DELETE', `/api/invitations/${invited.body.id}`, undefined, editor)).status).toBe(404);

    const accepted = await fx.call('POST', `/api/invitations/${invited.body.id}/accept`, undefined, invitee);
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({ projectId: project, userId: invitee.id, role: 'editor', email: invitee.email });
    const after = await seenBy(invitee);
    expect(after.projects).toEqual([project]);
    expect(after.memberships).toEqual([{ projectId: project, role: 'editor' }]);
    expect(after.project).toBe(200);
    // One grant in the outbox, by the invitee, and nothing of the invitation itself.
    const changes = await fx.sql(`SELECT table_name, op, actor_id FROM change_outbox WHERE table_name IN ('project_members', 'project_invitations') AND coalesce(new_row ->> 'user_id', old_row ->> 'user_id') = $1`, [invitee.id]);
    expect(changes).toEqual([{ table_name: 'project_members', op: 'INSERT', actor_id: invitee.id }]);
    expect((await fx.call('GET', '/api/invitations', undefined, invitee)).body.items).toEqual([]);
    expect((await fx.call('GET', `/api/projects/${project}/invitations`, undefined, owner)).body.items.map((i: { id: string }) => i.id)).not.toContain(invited.body.id);
    // Accepted once: a second accept finds nothing.
    expect((await fx.call('POST', `/api/invitations/${invited.body.id}/accept`, undefined, invitee)).status).toBe(404);
  });

  test('declines: no membership, and the owner no longer sees it pending', async () => {
    const invitee = await fx.user('decliner@example.com');
    const invited = await fx.call('POST', `/api/projects/${project}/invitations`, { email: invitee.email, role: 'viewer' }, owner);
    expect((await fx.call('DELETE', `/api/invitations/${invited.body.id}`, undefined, invitee)).status).toBe(204);
    expect((await fx.call('GET', '/api/invitations', undefined, invitee)).body.items).toEqual([]);
    expect((await fx.call('GET', `/api/projects/${project}/invitations`, undefined, owner)).body.items.map((i: { id: string }) => i.id)).not.toContain(invited.body.id);
    expect((await fx.call('POST', `/api/invitations/${invited.body.id}/accept`, undefined, invitee)).status).toBe(404);
    expect((await seenBy(invitee)).memberships).toEqual([]);
  });

  test('an account made after the invitation finds it at sign-in', async () => {
    const invited = await fx.call('POST', `/api/projects/${project}/invitations`, { email: 'later@example.com', role: 'viewer' }, owner);
    const later = await fx.user('later@example.com');
    expect((await fx.call('GET', '/api/invitations', undefined, later)).body.items.map((i: { id: string }) => i.id)).toEqual([invited.body.id]);
  });
});

describe('cancelling', () => {
  test('an owner cancels a pending invitation; the invitee then has nothing to accept', async () => {
    const invitee = await fx.user('cancelled@example.com');
    const invited = await fx.call('POST', `/api/projects/${project}/invitations`, { email: invitee.email, role: 'viewer' }, owner);
    expect((await fx.call('DELETE', `/api/projects/${project}/invitations/${invited.body.id}`, undefined, editor)).status).toBe(403);
    expect((await fx.call('DELETE', `/api/projects/${project}/invitations/${invited.body.id}`, undefined, owner)).status).toBe(204);
    expect((await fx.call('DELETE', `/api/projects/${project}/invitations/${invited.body.id}`, undefined, owner)).status).toBe(404);
    expect((await fx.call('GET', '/api/invitations', undefined, invitee)).body.items).toEqual([]);
    expect((await fx.call('POST', `/api/invitations/${invited.body.id}/accept`, undefined, invitee)).status).toBe(404);
    expect((await seenBy(invitee)).memberships).toEqual([]);
  });

  test('a stranger to the project sees neither it nor its invitations', async () => {
    const stranger = await fx.user('stranger@example.com');
    expect((await fx.call('GET', `/api/projects/${project}/invitations`, undefined, stranger)).status).toBe(404);
    expect((await fx.call('POST', `/api/projects/${project}/invitations`, { email: stranger.email, role: 'owner' }, stranger)).status).toBe(404);
  });
});
