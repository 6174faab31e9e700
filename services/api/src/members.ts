// A project's members over HTTP: any member lists them; owners add, change and remove
// (row-level security enforces who, this file adds the answers people need: 404 for an
// unknown account, 409 before a project would be left without an owner).
import type { FastifyInstance } from 'fastify';
import { and, eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { z } from 'zod';
import { memberRoles, projectMembers, projects, users } from '@realtime/db/schema';
import type { Member } from '@realtime/protocol';
import { HttpError, notFound, parseInput } from './errors';
import { asUser } from './auth/as-user';
import { userOf } from './routes';

const uuid = z.string().uuid('must be a UUID');
const addBody = z.object({ email: z.string().trim().min(3).max(320), role: z.enum(memberRoles) }).strict();

const columns = {
  id: projectMembers.id,
  projectId: projectMembers.projectId,
  userId: projectMembers.userId,
  role: projectMembers.role,
  email: users.email,
  name: users.name,
  createdAt: projectMembers.createdAt,
  updatedAt: projectMembers.updatedAt,
};

async function visibleProject(tx: NodePgDatabase, id: string): Promise<void> {
  const [p] = await tx.select({ id: projects.id }).from(projects).where(eq(projects.id, id));
  if (!p) throw notFound('project', id);
}

async function isOwner(tx: NodePgDatabase, projectId: string): Promise<boolean> {
  const r = await tx.execute<{ ok: boolean }>(sql`select ${projectId}::uuid = any(app_project_ids('owner')) as ok`);
  return r.rows[0]?.ok === true;
}

async function ownerCount(tx: NodePgDatabase, projectId: string): Promise<number> {
  const r = await tx.execute<{ n: string }>(sql`select count(*) as n from project_members where project_id = ${projectId} and role = 'owner'`);
  return Number(r.rows[0]?.n ?? 0);
}

const toMember = (row: Omit<Member, 'createdAt' | 'updatedAt'> & { createdAt: Date; updatedAt: Date }): Member => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export function registerMemberRoutes(app: FastifyInstance, opts: { db: NodePgDatabase }): void {
  const { db } = opts;
  const ids = (params: unknown) => parseInput(z.object({ id: uuid, userId: uuid.optional() }), params, 'path');

  app.get('/api/projects/:id/members', async (request) => {
    const { id } = ids(request.params);
    const items = await asUser(
      db,
      userOf(request),
      async (tx) => {
        await visibleProject(tx, id);
        return tx.select(columns).from(projectMembers).innerJoin(users, eq(users.id, projectMembers.userId)).where(eq(projectMembers.projectId, id)).orderBy(users.email);
      },
      { accessMode: 'read only' },
    );
    return { items: items.map(toMember) };
  });

  app.post('/api/projects/:id/members', async (request, reply) => {
    const { id } = ids(request.params);
    const body = parseInput(addBody, request.body ?? {}, 'body');
    const { member, created } = await asUser(db, userOf(request), async (tx) => {
      await visibleProject(tx, id);
      if (!(await isOwner(tx, id))) throw new HttpError(403, 'FORBIDDEN', `only owners of project ${id} manage its members`);
      const found = await tx.execute<{ id: string | null }>(sql`select app_user_id_by_email(${body.email}) as id`);
      const userId = found.rows[0]?.id;
      if (!userId) throw new HttpError(404, 'NOT_FOUND', `no account with email ${body.email.toLowerCase()}: an operator adds one with \`npm run users -- add\``);
      const [existing] = await tx.select({ role: projectMembers.role }).from(projectMembers).where(and(eq(projectMembers.projectId, id), eq(projectMembers.userId, userId)));
      if (existing?.role === 'owner' && body.role !== 'owner' && (await ownerCount(tx, id)) === 1) {
        throw new HttpError(409, 'CONFLICT', 'this is the project\'s last owner: make someone else an owner first');
      }
      if (existing) {
        await tx.update(projectMembers).set({ role: body.role, updatedAt: new Date() }).where(and(eq(projectMembers.projectId, id), eq(projectMembers.userId, userId)));
      } else {
        await tx.insert(projectMembers).values({ projectId: id, userId, role: body.role });
      }
      const [row] = await tx.select(columns).from(projectMembers).innerJoin(users, eq(users.id, projectMembers.userId)).where(and(eq(projectMembers.projectId, id), eq(projectMembers.userId, userId)));
      return { member: row!, created: !existing };
    });
    return reply.code(created ? 201 : 200).send(toMember(member));
  });

  app.delete('/api/projects/:id/members/:userId', async (request, reply) => {
    const { id, userId } = ids(request.params);
    await asUser(db, userOf(request), async (tx) => {
      await visibleProject(tx, id);
      const [existing] = await tx.select({ role: projectMembers.role }).from(projectMembers).where(and(eq(projectMembers.projectId, id), eq(projectMembers.userId, userId!)));
      if (!existing) throw new HttpError(404, 'NOT_FOUND', `user ${userId} is not a member of project ${id}`);
      if (existing.role === 'owner' && (await ownerCount(tx, id)) === 1) {
        throw new HttpError(409, 'CONFLICT', 'this is the project\'s last owner: make someone else an owner first, or delete the project');
      }
      const gone = await tx.delete(projectMembers).where(and(eq(projectMembers.projectId, id), eq(projectMembers.userId, userId!))).returning({ id: projectMembers.id });
      if (gone.length === 0) throw new HttpError(403, 'FORBIDDEN', `only owners of project ${id} remove other members`);
    });
    return reply.code(204).send();
  });
}
