// CRUD for every resource (resources.ts: the app schema's streamed tables), each request as the signed-in user under row-level
// security (auth/as-user.ts): a row the user cannot see is a 404, a visible row they may
// not change a 403. Lists are read in one REPEATABLE READ snapshot together with their
// stream cursor (contract item 4); the outbox records the user as the actor. Every row
// returned is `to_jsonb` of the table's row, shaped by shapeRow: the function that shapes
// the stream's rows, so a fetched row and the same row streamed are equal by construction.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, desc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { createSchemaFactory } from 'drizzle-zod';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { z } from 'zod';
import { CURSOR_SQL, cursorFromRow } from '@realtime/auth';
import { shapeRow, type JsonRow } from '@realtime/db';
import { HttpError, notFound, parseInput } from './errors';
import type { Resource } from './resources';
import { asUser } from './auth/as-user';
import { textLimits } from './limits/text';

const { createInsertSchema, createUpdateSchema } = createSchemaFactory({ coerce: { date: true } });
const uuid = z.string().uuid('must be a UUID');

export interface RoutesOptions {
  db: NodePgDatabase;
  /** What to serve: loadResources() at start-up, after migrations. */
  resources: Resource[];
}

/** The signed-in user; the auth hook has refused the request before a route runs without one. */
export function userOf(request: FastifyRequest) {
  if (!request.user) throw new HttpError(401, 'UNAUTHORIZED', 'sign in first (POST /api/auth/sign-in)');
  return request.user;
}

/** A change that touched nothing: 403 when the row is visible (so the role was short), 404 when not. */
export async function missingOrForbidden(tx: NodePgDatabase, r: Pick<Resource, 'table' | 'key' | 'projectField'>, what: string, id: string, action: string): Promise<HttpError> {
  const [seen] = await tx.select({ id: r.key }).from(r.table).where(eq(r.key, id));
  if (!seen) return notFound(what, id);
  // A table that is its own project (its key names it) is changed by its owners.
  const own = r.projectField !== null && getTableColumns(r.table)[r.projectField] === r.key;
  return new HttpError(403, 'FORBIDDEN', `you may not ${action} ${what} ${id}: ${own ? 'only its owners may' : 'it needs the editor role in its project'}`);
}

function routesFor(app: FastifyInstance, opts: RoutesOptions, r: Resource): void {
  const { db } = opts;
  const table = r.table;
  const columns = getTableColumns(table);
  // The key and the timestamps are the server's to set.
  const server = Object.fromEntries(
    Object.entries(columns)
      .filter(([, c]) => c === r.key || c === r.createdAt || c === r.updatedAt)
      .map(([field]) => [field, true as const]),
  ) as Record<string, true> & Record<number, never>;
  const keyIsUuid = r.key.columnType === 'PgUUID';
  const keySchema = keyIsUuid ? uuid : z.string().min(1).max(200);
  // Every text column at most TEXT_LIMIT characters, every json column at most JSON_LIMIT.
  const bounds = textLimits(table) as never;
  let insertSchema = (createInsertSchema(table, bounds) as unknown as z.ZodObject).omit(server).strict();
  // A row's project follows from a parent of the same project (matchProject), so it may be left out.
  if (r.projectField && r.projectFrom.length > 0) insertSchema = insertSchema.extend({ [r.projectField]: uuid.optional() });
  const updateSchema = (createUpdateSchema(table, bounds) as unknown as z.ZodObject).omit(server).strict();
  // The row as to_jsonb makes it, shaped as the stream shapes it.
  const rowOf = { row: sql<JsonRow>`to_jsonb(${table})` };
  const shape = (row: JsonRow) => shapeRow(r.streamed, row);
  const order = r.createdAt ? [desc(r.createdAt), desc(r.key)] : [desc(r.key)];
  const listQuery = z
    .object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      // Deep offsets make Postgres walk every row before them: narrow the list instead.
      offset: z.coerce.number().int().min(0).max(100_000).default(0),
      ...Object.fromEntries(Object.keys(r.parents).map((k) => [k, uuid.optional()])),
    })
    .strict();
  const base = `/api/${r.path}`;
  const idOf = (request: FastifyRequest) => parseInput(z.object({ id: keySchema }), request.params, 'path').id;

  const what = r.path.replace(/s$/, '').replace(/-/g, ' ');
  const write = <T>(request: FastifyRequest, fn: (tx: NodePgDatabase) => Promise<T>) => asUser(db, userOf(request), fn);

  app.get(base, async (request) => {
    const q = parseInput(listQuery, request.query, 'query') as { limit: number; offset: number } & Record<string, string | undefined>;
    const where: SQL[] = [];
    for (const [param, column] of Object.entries(r.parents)) if (q[param]) where.push(eq(column, q[param]));
    let head = { snapshot: '', head: null as string | null, fp_input: null as string | null };
    return asUser(
      db,
      userOf(request),
      async (tx) => {
        const items = await tx
          .select(rowOf)
          .from(table)
          .where(where.length ? and(...where) : undefined)
          .orderBy(...order)
          .limit(q.limit + 1)
          .offset(q.offset);
        const more = items.length > q.limit;
        return {
          items: (more ? items.slice(0, q.limit) : items).map((i) => shape(i.row)),
          cursor: cursorFromRow(head),
          page: { limit: q.limit, offset: q.offset, nextOffset: more ? q.offset + q.limit : null },
        };
      },
      {
        isolationLevel: 'repeatable read',
        accessMode: 'read only',
        // The outbox is not the user's to read: its head is taken before SET ROLE, in the
        // same snapshot as the list.
        before: async (tx) => {
          head = (await tx.execute<{ snapshot: string; head: string | null; fp_input: string | null }>(sql.raw(CURSOR_SQL))).rows[0]!;
        },
      },
    );
  });

  app.get(`${base}/:id`, async (request) => {
    const id = idOf(request);
    const [found] = await asUser(db, userOf(request), (tx) => tx.select(rowOf).from(table).where(eq(r.key, id)), { accessMode: 'read only' });
    if (!found) throw notFound(what, id);
    return shape(found.row);
  });

  app.post(base, async (request, reply) => {
    const body = parseInput(insertSchema, request.body ?? {}, 'body') as Record<string, unknown>;
    const row = await write(request, async (tx) => {
      await matchProject(tx, r, body);
      // No RETURNING when the key can be chosen here: for a new project, the policy that
      // lets its creator read it holds only once the statement's trigger has made them its owner.
      let id: unknown;
      if (keyIsUuid) {
        id = randomUUID();
        await tx.insert(table).values({ ...body, [r.keyField]: id } as never);
      } else {
        [{ id }] = (await tx.insert(table).values(body as never).returning({ id: r.key })) as [{ id: unknown }];
      }
      const [created] = await tx.select(rowOf).from(table).where(eq(r.key, id));
      return created!.row;
    });
    return reply.code(201).send(shape(row));
  });

  app.patch(`${base}/:id`, async (request) => {
    const id = idOf(request);
    const body = parseInput(updateSchema, request.body ?? {}, 'body') as Record<string, unknown>;
    if (Object.keys(body).length === 0) throw new HttpError(400, 'BAD_REQUEST', `invalid body: nothing to change; fields: ${Object.keys(columns).filter((c) => !(c in server)).join(', ')}`);
    const row = await write(request, async (tx) => {
      const updatedAt = r.updatedAt ? { [Object.keys(server).find((f) => columns[f] === r.updatedAt)!]: new Date() } : {};
      const [updated] = await tx
        .update(table)
        .set({ ...body, ...updatedAt } as never)
        .where(eq(r.key, id))
        .returning(rowOf);
      if (!updated) throw await missingOrForbidden(tx, r, what, id, 'change');
      return updated.row;
    });
    return shape(row);
  });

  app.delete(`${base}/:id`, async (request, reply) => {
    const id = idOf(request);
    await write(request, async (tx) => {
      const deleted = await tx.delete(table).where(eq(r.key, id)).returning({ id: r.key });
      if (deleted.length === 0) throw await missingOrForbidden(tx, r, what, id, 'delete');
    });
    return reply.code(204).send();
  });
}

/**
 * A row belongs to its parents' project (a result to its job's): for each parent of the
 * same project column the body names, the project is filled in when missing and
 * refused when it disagrees. Read as the user, so a parent they cannot see is missing.
 */
async function matchProject(tx: NodePgDatabase, r: Resource, body: Record<string, unknown>): Promise<void> {
  const field = r.projectField;
  if (!field) return;
  for (const p of r.projectFrom) {
    const ref = body[p.field];
    if (ref === undefined || ref === null) continue;
    const [parent] = await tx.select({ project: p.parentProject as AnyPgColumn }).from(p.parent).where(eq(p.parentKey, ref));
    if (!parent) throw new HttpError(400, 'BAD_REQUEST', `${p.field}: no ${p.parentName} row with id ${String(ref)}`);
    if (body[field] === undefined) body[field] = parent.project;
    else if (body[field] !== parent.project) throw new HttpError(400, 'BAD_REQUEST', `${field}: the ${p.noun} belongs to project ${String(parent.project)}`);
  }
}

export function registerRoutes(app: FastifyInstance, opts: RoutesOptions): void {
  for (const r of opts.resources) routesFor(app, opts, r);
}
