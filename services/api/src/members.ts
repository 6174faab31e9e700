// A project's members and invitations over HTTP: any member lists the members; owners
// invite by email, change roles and remove members; an invitee accepts or declines; anyone
// may leave. Row-level security decides who; the database keeps every project an owner.
// Inviting never says whether an address has an account: the answer is the same for any.
import type { FastifyInstance } from 'fastify';
import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { z } from 'zod';
import { memberRoles, projectInvitations, projectMembers, projects, users } from '@realtime/db/schema';
import type { Invitation, Member, MemberRole, MembersPage, MyInvitation } from './types';
import { HttpError, notFound, parseInput } from './errors';
import { asUser } from './auth/as-user';
import { userOf } from './routes';
import { membersPageQuery, pageOf } from './members-page';

const uuid = z.string().uuid('must be a UUID');
const email = z
  .string()
  .trim()
  .toLowerCase()
  .min(3)
  .max(320)
  .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address');
const inviteBody = z.object({ email, role: z.enum(memberRoles) }).strict();
const roleBody = z.object({ role: z.enum(memberRoles) }).strict();

const memberColumns = {
  id: projectMembers.id,
  projectId: projectMembers.projectId,
  userId: projectMembers.userId,
  role: projectMembers.role,
  email: users.email,
  name: users.name,
  createdAt: projectMembers.createdAt,
  updatedAt: projectMembers.updatedAt,
};

const invitationColumns = {
  id: projectInvitations.id,
  projectId: projectInvitations.projectId,
  email: projectInvitations.email,
  role: projectInvitations.role,
  invitedBy: projectInvitations.invitedBy,
  createdAt: projectInvitations.createdAt,
  updatedAt: projectInvitations.updatedAt,
};

async function visibleProject(tx: NodePgDatabase, id: string): Promise<void> {
  const [p] = await tx.select({ id: projects.id }).from(projects).where(eq(projects.id, id));
  if (!p) throw notFound('project', id);
}

/** A visible project the user owns; 403 for a member of another role (the policy would only hide its invitations). */
async function ownedProject(tx: NodePgDatabase, id: string, action: string): Promise<void> {
  await visibleProject(tx, id);
  const r = await tx.execute<{ ok: boolean }>(sql`select ${id}::uuid = any(app_project_ids('owner')) as ok`);
  if (r.rows[0]?.ok !== true) throw new HttpError(403, 'FORBIDDEN', `only owners of project ${id} ${action}`);
}

type Dated<T> = Omit<T, 'createdAt' | 'updatedAt'> & { createdAt: Date; updatedAt: Date };
const iso = <T extends { createdAt: Date; updatedAt: Date }>(row: T) => ({ ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() });
const toMember = (row: Dated<Member>): Member => iso(row);
const toInvitation = (row: Dated<Invitation>): Invitation => iso(row);

async function memberRow(tx: NodePgDatabase, where: ReturnType<typeof and>): Promise<Dated<Member> | undefined> {
  const [row] = await tx.select(memberColumns).from(projectMembers).innerJoin(users, eq(users.id, projectMembers.userId)).where(where);
  return row;
}

export function registerMemberRoutes(app: FastifyInstance, opts: { db: NodePgDatabase }): void {
  const { db } = opts;
  const ids = (params: unknown) => parseInput(z.object({ id: uuid, userId: uuid.optional(), invitationId: uuid.optional() }), params, 'path');

  app.get('/api/projects/:id/members', async (request) => {
    const { id } = ids(request.params);
    const q = parseInput(membersPageQuery, request.query ?? {}, 'query');
    const { rows, total } = await asUser(
      db,
      userOf(request),
      async (tx) => {
        await visibleProject(tx, id);
        const inProject = eq(projectMembers.projectId, id);
        const rows = await tx
          .select(memberColumns)
          .from(projectMembers)
          .innerJoin(users, eq(users.id, projectMembers.userId))
          .where(q.after === undefined ? inProject : and(inProject, gt(users.email, q.after)))
          .orderBy(users.email)
          .limit(q.limit + 1);
        const [counted] = await tx.select({ n: count() }).from(projectMembers).where(inProject);
        return { rows, total: counted!.n };
      },
      // The page and its total in one snapshot, so that they agree.
      { accessMode: 'read only', isolationLevel: 'repeatable read' },
    );
    const { items, next } = pageOf(rows, q.limit);
    return { items: items.map(toMember), page: { limit: q.limit, next, total } } satisfies MembersPage;
  });

  app.patch('/api/projects/:id/members/:userId', async (request) => {
    const { id, userId } = ids(request.params);
    const body = parseInput(roleBody, request.body ?? {}, 'body');
    const member = await asUser(db, userOf(request), async (tx) => {
      await visibleProject(tx, id);
      const which = and(eq(projectMembers.projectId, id), eq(projectMembers.userId, userId!));
      if (!(await memberRow(tx, which))) throw new HttpError(404, 'NOT_FOUND', `user ${userId} is not a member of project ${id}`);
      // The last owner's demotion is refused by the database (project_members_keep_owner), as a 409.
      const changed = await tx.update(projectMembers).set({ role: body.role, updatedAt: new Date() }).where(which).returning({ id: projectMembers.id });
      if (changed.length === 0) throw new HttpError(403, 'FORBIDDEN', `only owners of project ${id} change roles`);
      return (await memberRow(tx, which))!;
    });
    return toMember(member);
  });

  app.delete('/api/projects/:id/members/:userId', async (request, reply) => {
    const { id, userId } = ids(request.params);
    await asUser(db, userOf(request), async (tx) => {
      await visibleProject(tx, id);
      const which = and(eq(projectMembers.projectId, id), eq(projectMembers.userId, userId!));
      if (!(await memberRow(tx, which))) throw new HttpError(404, 'NOT_FOUND', `user ${userId} is not a member of project ${id}`);
      const gone = await tx.delete(projectMembers).where(which).returning({ id: projectMembers.id });
      if (gone.length === 0) throw new HttpError(403, 'FORBIDDEN', `only owners of project ${id} remove other members`);
    });
    return reply.code(204).send();
  });

  app.get('/api/projects/:id/invitations', async (request) => {
    const { id } = ids(request.params);
    const items = await asUser(
      db,
      userOf(request),
      async (tx) => {
        await ownedProject(tx, id, 'see its invitations');
        return tx.select(invitationColumns).from(projectInvitations).where(eq(projectInvitations.projectId, id)).orderBy(asc(projectInvitations.createdAt), asc(projectInvitations.id));
      },
      { accessMode: 'read only' },
    );
    return { items: items.map((i) => toInvitation(i as Dated<Invitation>)) };
  });

  // Any address gets the same answer, account or not: the invitation waits for whoever
  // signs in with it. Only a member of this project, whom the owner sees listed, is refused.
  app.post('/api/projects/:id/invitations', async (request, reply) => {
    const { id } = ids(request.params);
    const body = parseInput(inviteBody, request.body ?? {}, 'body');
    const user = userOf(request);
    const { invitation, created } = await asUser(db, user, async (tx) => {
      await ownedProject(tx, id, 'invite people');
      const member = await memberRow(tx, and(eq(projectMembers.projectId, id), eq(users.email, body.email)));
      if (member) throw new HttpError(409, 'CONFLICT', `${body.email} is a member of project ${id} already: change their role in the members list`);
      const [row] = await tx
        .insert(projectInvitations)
        .values({ projectId: id, email: body.email, role: body.role, invitedBy: user.id })
        .onConflictDoUpdate({ target: [projectInvitations.projectId, projectInvitations.email], set: { role: body.role, updatedAt: new Date() } })
        .returning({ ...invitationColumns, created: sql<boolean>`xmax = 0` });
      const { created, ...invitation } = row!;
      return { invitation, created };
    });
    return reply.code(created ? 201 : 200).send(toInvitation(invitation as Dated<Invitation>));
  });

  app.delete('/api/projects/:id/invitations/:invitationId', async (request, reply) => {
    const { id, invitationId } = ids(request.params);
    await asUser(db, userOf(request), async (tx) => {
      await ownedProject(tx, id, 'cancel its invitations');
      const gone = await tx
        .delete(projectInvitations)
        .where(and(eq(projectInvitations.projectId, id), eq(projectInvitations.id, invitationId!)))
        .returning({ id: projectInvitations.id });
      if (gone.length === 0) throw notFound('invitation', invitationId!);
    });
    return reply.code(204).send();
  });

  app.get('/api/invitations', async (request) => {
    const rows = await asUser(
      db,
      userOf(request),
      async (tx) =>
        (
          await tx.execute<{ id: string; project_id: string; project_name: string; role: MemberRole; invited_by_name: string | null; invited_by_email: string | null; created_at: string | Date }>(
            sql`select * from app_my_invitations()`,
          )
        ).rows,
      { accessMode: 'read only' },
    );
    const items: MyInvitation[] = rows.map((r) => ({
      id: r.id,
      projectId: r.project_id,
      projectName: r.project_name,
      role: r.role,
      invitedBy: r.invited_by_email === null ? null : { name: r.invited_by_name ?? '', email: r.invited_by_email },
      createdAt: new Date(r.created_at).toISOString(),
    }));
    return { items };
  });

  app.post('/api/invitations/:id/accept', async (request, reply) => {
    const { id } = ids(request.params);
    const user = userOf(request);
    const member = await asUser(db, user, async (tx) => {
      const r = await tx.execute<{ member: string | null }>(sql`select app_accept_invitation(${id}) as member`);
      const memberId = r.rows[0]?.member;
      if (!memberId) throw notFound('invitation', id);
      return (await memberRow(tx, and(eq(projectMembers.id, memberId))))!;
    });
    return reply.code(201).send(toMember(member));
  });

  app.delete('/api/invitations/:id', async (request, reply) => {
    const { id } = ids(request.params);
    const user = userOf(request);
    await asUser(db, user, async (tx) => {
      // Only one's own: an owner cancels through the project's route, which says so.
      const gone = await tx
        .delete(projectInvitations)
        .where(and(eq(projectInvitations.id, id), sql`${projectInvitations.email} = app_user_email()`))
        .returning({ id: projectInvitations.id });
      if (gone.length === 0) throw notFound('invitation', id);
    });
    return reply.code(204).send();
  });
}
