// CRUD for every resource (resources.ts: the app schema's streamed tables), each request as the signed-in user under row-level
// security (auth/as-user.ts): a row the user cannot see is a 404, a visible row they may
// not change a 403. Lists are keyset pages (lists/: filters, orders, `after`), read in one
// REPEATABLE READ snapshot together with their total and stream cursor (contract item
// 4); the outbox records the user as the actor. Every row returned is the table's row as
// the capture trigger records it (numeric and int8 as text), shaped by shapeRow: the
// function that shapes the stream's rows, so a fetched row and the same row streamed are
// equal by construction.
// Writes answer with the row's version as ETag and their transaction's txid
// (Realtime-Txid), honour If-Match (409 with the current row when stale) and
// Idempotency-Key (writes/idempotency.ts).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { createSchemaFactory } from 'drizzle-zod';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { z } from 'zod';
import { CURSOR_SQL, cursorFromRow, type CursorRow } from '@realtime/auth';
import { shapeRow, unlistedExactColumns, type JsonRow } from '@realtime/db';
import type { PageInfo } from '@realtime/protocol';
import { HttpError, notFound, parseInput } from './errors';
import type { Resource, Unserved } from './resources';
import { asUser } from './auth/as-user';
import { textLimits } from './limits/text';
import { etagOf, parseIdempotencyKey, parseIfMatch } from './writes/headers';
import { exactColumnOf, parseExact, type ExactColumn } from './writes/numbers';
import { idempotentWrite, type WriteOutcome, type WriteResponse } from './writes/idempotency';
import { listSpecOf, type ListSpec } from './lists/spec';
import { encodeAfter, ListParamError, parseListQuery, type ListRequest } from './lists/params';
import { countSql, pageSql } from './lists/sql';
import { pageSnapshot } from './lists/snapshot';

const { createInsertSchema, createUpdateSchema } = createSchemaFactory({ coerce: { date: true } });
const uuid = z.string().uuid('must be a UUID');

export interface RoutesOptions {
  db: NodePgDatabase;
  /** What to serve: loadResources() at start-up, after migrations (its `unserved` are named in a warning and answer 404 with their fix). */
  resources: Resource[] & { unserved?: readonly Unserved[] };
  /** Signs the lists' stream cursors: the gateway's secret (REALTIME_JWT_SECRET), which checks them. */
  cursorSecret: Uint8Array;
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

function routesFor(app: FastifyInstance, opts: RoutesOptions, r: Resource): ListSpec {
  const { db } = opts;
  const table = r.table;
  const columns = getTableColumns(table);
  // The key (unless a body brings a new row's uuid), the timestamps and the version are the server's to set.
  const server = Object.fromEntries(
    Object.entries(columns)
      .filter(([, c]) => c === r.key || c === r.createdAt || c === r.updatedAt || c === r.version)
      .map(([field]) => [field, true as const]),
  ) as Record<string, true> & Record<number, never>;
  const keyIsUuid = r.key.columnType === 'PgUUID';
  const keySchema = keyIsUuid ? uuid : z.string().min(1).max(200);
  // Every text column at most TEXT_LIMIT characters, every json column at most JSON_LIMIT.
  const bounds = textLimits(table) as never;
  let insertSchema = (createInsertSchema(table, bounds) as unknown as z.ZodObject).omit(server).strict();
  // A row's project follows from a parent of the same project (matchProject), so it may be left out.
  if (r.projectField && r.projectFrom.length > 0) insertSchema = insertSchema.extend({ [r.projectField]: uuid.optional() });
  // Clients make the ids of the rows they create, so that a queued create and the writes
  // queued after it name the row before the server has seen it. An id a row the user
  // cannot see has taken is refused with this very message (newIdRefused).
  if (keyIsUuid) insertSchema = insertSchema.extend({ [r.keyField]: z.string().uuid(NEW_ID).optional() });
  let updateSchema = (createUpdateSchema(table, bounds) as unknown as z.ZodObject).omit(server).strict();
  // numeric and int8 take a JSON number or a string (writes/numbers.ts), whatever mode the schema reads them in.
  const exact = exactFields(columns, server);
  insertSchema = insertSchema.extend(exactShape(exact, 'insert'));
  updateSchema = updateSchema.extend(exactShape(exact, 'update'));
  // The row as the capture trigger records it (to_jsonb with numeric and int8 as their
  // own text, migration 0015), shaped as the stream shapes it.
  const rowOf = { row: rowJson(r) };
  const shape = (row: JsonRow) => shapeRow(r.streamed, row);
  // Filters, orders and positions a list accepts (lists/spec.ts): derived from the table and its indexes.
  const spec = listSpecOf(r.path, table, r.keyField, r.projectField);
  const base = `/api/${r.path}`;
  const idOf = (request: FastifyRequest) => parseInput(z.object({ id: keySchema }), request.params, 'path').id;

  const what = r.path.replace(/s$/, '').replace(/-/g, ' ');
  // Under row-level security Postgres leaves the key out of the violation's detail: the
  // primary key's default name tells, and the detail where a table has none.
  const keyTaken = (err: unknown): boolean => {
    const pg = ((err as { cause?: unknown }).cause ?? err) as { code?: string; constraint?: string; detail?: string };
    return pg.code === '23505' && (pg.constraint === `${r.channel}_pkey` || pg.detail?.startsWith(`Key (${r.key.name})=`) === true);
  };
  const versionField = r.version ? Object.keys(columns).find((f) => columns[f] === r.version)! : null;
  const etag = (row: JsonRow): string | null => (versionField === null ? null : etagOf(row[versionField] as number));
  const bodyOf = (request: FastifyRequest): unknown => {
    const body = request.body ?? {};
    if (versionField && typeof body === 'object' && !Array.isArray(body) && Object.hasOwn(body, versionField)) {
      const why = 'set by the server (every update adds 1); send If-Match: "<version>" to write over that version only';
      throw new HttpError(400, 'BAD_REQUEST', `invalid body: ${versionField}: ${why}`, {}, { fields: { [versionField]: why } });
    }
    return body;
  };
  const ifMatchOf = (request: FastifyRequest): number | null => {
    const v = parseIfMatch(request.headers['if-match']);
    if (v !== null && !r.version) throw new HttpError(400, 'BAD_REQUEST', `invalid header If-Match: ${r.path} rows have no version`, {}, { fields: { 'If-Match': 'this resource has no versions' } });
    return v;
  };
  // One transaction as the user for the write, its Idempotency-Key and its txid.
  const write = (request: FastifyRequest, path: string, ifMatch: number | null, fn: (tx: NodePgDatabase) => Promise<WriteResponse>): Promise<WriteOutcome> => {
    const key = parseIdempotencyKey(request.headers['idempotency-key']);
    const user = userOf(request);
    return asUser(db, user, (tx) => idempotentWrite(tx, { userId: user.id, key, request: { method: request.method, path, body: request.body ?? null, ifMatch } }, () => fn(tx)));
  };
  /**
   * A write that touched nothing: 404 when the row is not visible, 409 with the row as it
   * is when If-Match named another version, else 403 (the policy refused it). A stale
   * version is reported before a short role: the client rebases, and a resend learns the rest.
   */
  const refused = async (tx: NodePgDatabase, id: string, ifMatch: number | null, action: string): Promise<HttpError> => {
    if (ifMatch !== null) {
      const [current] = await tx.select(rowOf).from(table).where(eq(r.key, id));
      if (current && current.row[r.version!.name] !== ifMatch) {
        const row = shape(current.row);
        return new HttpError(
          409,
          'CONFLICT',
          `${what} ${id} is at version ${String(current.row[r.version!.name])}, not ${ifMatch} (If-Match): it changed since you read it; error.current is the row as it is now`,
          { etag: etag(row)! },
          { current: row },
        );
      }
    }
    return missingOrForbidden(tx, r, what, id, action);
  };

  app.get(base, async (request) => {
    const q = listRequestOf(spec, request.query);
    let head: CursorRow = { snapshot: '', head: null };
    return asUser(
      db,
      userOf(request),
      async (tx) => {
        const rows = (await tx.execute<PageRow>(pageSql(spec, q, rowOf.row))).rows;
        const more = rows.length > q.limit;
        const items = more ? rows.slice(0, q.limit) : rows;
        // A first page that holds every row is its own count.
        const total = !q.after && !more ? items.length : (await tx.execute<{ total: number }>(countSql(spec, q))).rows[0]!.total;
        const last = items.at(-1);
        const page: PageInfo = {
          next: more && last ? encodeAfter(q.order, spec, { value: last.sort, key: last.key }) : null,
          total,
          limit: q.limit,
          order: q.order,
          snapshot: pageSnapshot(head),
        };
        return { items: items.map((i) => shape(i.row)), cursor: cursorFromRow(opts.cursorSecret, head), page };
      },
      {
        isolationLevel: 'repeatable read',
        accessMode: 'read only',
        // The outbox is not the user's to read: its head is taken before SET ROLE, in the
        // same snapshot as the list, its total and page.snapshot.
        before: async (tx) => {
          head = (await tx.execute<CursorRow>(sql.raw(CURSOR_SQL))).rows[0]!;
        },
      },
    );
  });

  app.get(`${base}/:id`, async (request, reply) => {
    const id = idOf(request);
    const [found] = await asUser(db, userOf(request), (tx) => tx.select(rowOf).from(table).where(eq(r.key, id)), { accessMode: 'read only' });
    if (!found) throw notFound(what, id);
    const row = shape(found.row);
    const tag = etag(row);
    if (tag) void reply.header('etag', tag);
    return row;
  });

  app.post(base, async (request, reply) => {
    const body = parseInput(insertSchema, bodyOf(request), 'body') as Record<string, unknown>;
    const outcome = await write(request, base, null, async (tx) => {
      await matchProject(tx, r, body);
      // No RETURNING when the key can be chosen here: for a new project, the policy that
      // lets its creator read it holds only once the statement's trigger has made them its owner.
      let id: unknown;
      if (keyIsUuid) {
        id = body[r.keyField] ?? randomUUID();
        // Not ON CONFLICT DO NOTHING: it would hold the new row to the read policy, which a
        // new project passes only after its trigger. A savepoint instead, so that whether
        // the row holding the id is visible can be asked after the failed insert.
        try {
          await tx.transaction(async (sp) => {
            await sp.insert(table).values({ ...body, [r.keyField]: id } as never);
          });
        } catch (err) {
          if (!keyTaken(err)) throw err;
          // 409 only for a row the user sees (a queued create applied by an earlier attempt
          // is one); any other taken id is refused like a malformed one, or the answer would
          // tell that a row of another project exists.
          const [seen] = await tx.select({ id: r.key }).from(table).where(eq(r.key, id));
          if (!seen) throw newIdRefused(r.keyField);
          throw new HttpError(409, 'CONFLICT', `a ${what} with id ${String(id)} exists already: a new row needs a new id`, {}, { fields: { [r.keyField]: 'taken' } });
        }
      } else {
        [{ id }] = (await tx.insert(table).values(body as never).returning({ id: r.key })) as [{ id: unknown }];
      }
      const [created] = await tx.select(rowOf).from(table).where(eq(r.key, id));
      const row = shape(created!.row);
      return { status: 201, body: row, etag: etag(row) };
    });
    return sendWrite(reply, outcome);
  });

  app.patch(`${base}/:id`, async (request, reply) => {
    const id = idOf(request);
    const body = parseInput(updateSchema, bodyOf(request), 'body') as Record<string, unknown>;
    if (Object.keys(body).length === 0) throw new HttpError(400, 'BAD_REQUEST', `invalid body: nothing to change; fields: ${Object.keys(columns).filter((c) => !(c in server)).join(', ')}`);
    const ifMatch = ifMatchOf(request);
    const outcome = await write(request, `${base}/${id}`, ifMatch, async (tx) => {
      await matchProjectOnUpdate(tx, r, id, body);
      const updatedAt = r.updatedAt ? { [Object.keys(server).find((f) => columns[f] === r.updatedAt)!]: new Date() } : {};
      // The version compared in the UPDATE itself: a concurrent writer's commit is seen
      // (read committed re-checks the row it waited for), so two cannot both match.
      const [updated] = await tx
        .update(table)
        .set({ ...body, ...updatedAt } as never)
        .where(ifMatch === null ? eq(r.key, id) : and(eq(r.key, id), eq(r.version!, ifMatch)))
        .returning(rowOf);
      if (!updated) throw await refused(tx, id, ifMatch, 'change');
      const row = shape(updated.row);
      return { status: 200, body: row, etag: etag(row) };
    });
    return sendWrite(reply, outcome);
  });

  app.delete(`${base}/:id`, async (request, reply) => {
    const id = idOf(request);
    const ifMatch = ifMatchOf(request);
    const outcome = await write(request, `${base}/${id}`, ifMatch, async (tx) => {
      const deleted = await tx
        .delete(table)
        .where(ifMatch === null ? eq(r.key, id) : and(eq(r.key, id), eq(r.version!, ifMatch)))
        .returning({ id: r.key });
      if (deleted.length === 0) throw await refused(tx, id, ifMatch, 'delete');
      return { status: 204, body: null, etag: null };
    });
    return sendWrite(reply, outcome);
  });
  return spec;
}

interface PageRow extends Record<string, unknown> {
  row: JsonRow;
  sort: string;
  key: string;
}

/** A list's query string, or a 400 naming the parameter at fault and its fix. */
function listRequestOf(spec: ListSpec, query: unknown): ListRequest {
  try {
    return parseListQuery(spec, (query ?? {}) as Record<string, unknown>);
  } catch (e) {
    if (!(e instanceof ListParamError)) throw e;
    throw new HttpError(400, 'BAD_REQUEST', `invalid query: ${e.message}`, {}, { fields: { [e.param]: e.why } });
  }
}

/**
 * `to_jsonb(row)` with the numeric and int8 columns the capture trigger lists as their own
 * text, as the trigger records rows (migration 0015): the same columns, so that a row read
 * here and the same row streamed stay equal even when a column is not listed yet.
 */
function rowJson(r: Resource): SQL<JsonRow> {
  const name = sql.identifier(r.channel);
  const parts = r.streamed.exactColumns.map((c) => sql` || jsonb_build_object(${c}::text, ${name}.${sql.identifier(c)}::text)`);
  return sql<JsonRow>`(to_jsonb(${name})${sql.join(parts)})`;
}

interface ExactField {
  field: string;
  column: ExactColumn;
  notNull: boolean;
  hasDefault: boolean;
}

function exactFields(columns: Record<string, AnyPgColumn>, server: Record<string, true>): ExactField[] {
  const out: ExactField[] = [];
  for (const [field, c] of Object.entries(columns)) {
    const column = field in server ? null : exactColumnOf(c as unknown as { columnType: string; precision?: number; scale?: number });
    if (column) out.push({ field, column, notNull: c.notNull, hasDefault: c.hasDefault });
  }
  return out;
}

/** The body's schema for those columns: required on insert unless nullable or defaulted, optional on update. */
function exactShape(fields: ExactField[], mode: 'insert' | 'update'): Record<string, z.ZodType> {
  return Object.fromEntries(
    fields.map(({ field, column, notNull, hasDefault }) => {
      const value = z.unknown().transform((v, ctx) => {
        const parsed = v === undefined ? { ok: false as const, message: 'required' } : parseExact(v, column);
        if (parsed.ok) return parsed.value;
        ctx.addIssue({ code: 'custom', message: parsed.message });
        return z.NEVER;
      });
      const optional = mode === 'update' || hasDefault || !notNull;
      return [field, notNull ? (optional ? value.optional() : value) : value.nullable().optional()];
    }),
  );
}

/** A write's answer, first or replayed: its status, body, ETag and the txid that wrote it. */
function sendWrite(reply: FastifyReply, outcome: WriteOutcome): FastifyReply {
  void reply.code(outcome.status).header('realtime-txid', outcome.txid);
  if (outcome.etag) void reply.header('etag', outcome.etag);
  if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
  return outcome.body === null ? reply.send() : reply.send(outcome.body);
}

/** The message of a new row's id that cannot be used: malformed, or taken by a row the user cannot see. */
const NEW_ID = 'must be a UUID that no row has yet';
const newIdRefused = (field: string) => new HttpError(400, 'BAD_REQUEST', `invalid body: ${field}: ${NEW_ID}`);

/**
 * An update holds its row to the same rule as a create (matchProject): a parent it names,
 * and when it moves the row, every parent the row keeps, must be a visible row of the
 * row's project, with the same answers as a create's. A row the user cannot see is left
 * to the UPDATE, which touches nothing and is answered 404.
 */
async function matchProjectOnUpdate(tx: NodePgDatabase, r: Resource, id: string, body: Record<string, unknown>): Promise<void> {
  const field = r.projectField;
  if (!field || r.projectFrom.length === 0) return;
  const moves = field in body;
  const named = r.projectFrom.filter((p) => p.field in body);
  if (!moves && named.length === 0) return;
  const columns = getTableColumns(r.table);
  const wanted = Object.fromEntries([field, ...r.projectFrom.map((p) => p.field)].map((f) => [f, columns[f]!]));
  const [current] = (await tx.select(wanted).from(r.table).where(eq(r.key, id))) as Record<string, unknown>[];
  if (!current) return;
  const after = { ...current, ...body };
  await matchProject(tx, r, after, moves ? r.projectFrom : named);
}

/**
 * A row belongs to its parents' project (a result to its job's): for each parent of the
 * same project column the body names, the project is filled in when missing and
 * refused when it disagrees. Read as the user, so a parent they cannot see is missing.
 */
async function matchProject(tx: NodePgDatabase, r: Resource, body: Record<string, unknown>, parents = r.projectFrom): Promise<void> {
  const field = r.projectField;
  if (!field) return;
  for (const p of parents) {
    const ref = body[p.field];
    if (ref === undefined || ref === null) continue;
    const [parent] = await tx.select({ project: p.parentProject as AnyPgColumn }).from(p.parent).where(eq(p.parentKey, ref));
    if (!parent) throw new HttpError(400, 'BAD_REQUEST', `${p.field}: no ${p.parentName} row with id ${String(ref)}`);
    if (body[field] === undefined) body[field] = parent.project;
    else if (body[field] !== parent.project) throw new HttpError(400, 'BAD_REQUEST', `${field}: the ${p.noun} belongs to project ${String(parent.project)}`);
  }
}

export function registerRoutes(app: FastifyInstance, opts: RoutesOptions): void {
  const specs = opts.resources.map((r) => ({ r, spec: routesFor(app, opts, r) }));
  // Newest first with no index to page by it: every page sorts the whole filtered set.
  const unindexed = specs.filter(({ spec }) => spec.unindexed.length > 0);
  if (unindexed.length > 0) {
    app.log.warn(
      { tables: unindexed.map(({ r }) => r.channel) },
      `lists of ${unindexed.map(({ r }) => r.channel).join(', ')} sort their whole filtered set for every page: no index serves their default order, newest first; add index('<table>_list_created_idx').on(t.projectId, listTime(t.createdAt), t.id) to the table in db/src/schema/app.ts, then npm run db:generate -- --name <table>_list_order`,
    );
  }
  const unlisted = opts.resources.map((r) => ({ table: r.channel, columns: unlistedExactColumns(r.streamed), r })).filter((u) => u.columns.length > 0);
  if (unlisted.length > 0) {
    app.log.warn(
      { tables: unlisted.map(({ table, columns }) => ({ table, columns })) },
      `numeric and int8 columns are captured as JSON numbers, losing their zeros and digits beyond 2^53, until their table is declared again: ${unlisted
        .map(({ table, columns, r }) => `${table} (${columns.join(', ')}): add SELECT realtime_enable('${table}', '${r.streamed.keyColumn}', '${r.streamed.projectColumn}'); to a migration`)
        .join('; ')}`,
    );
  }
  const unserved = opts.resources.unserved ?? [];
  if (unserved.length === 0) return;
  app.log.warn(
    { tables: unserved.map((u) => ({ table: u.table, reason: u.reason, fix: u.fix })) },
    `db/src/schema/app.ts exports ${unserved.length === 1 ? 'a table' : 'tables'} the API does not serve: ${unserved.map((u) => `${u.table} (${u.fix})`).join('; ')}`,
  );
  // A request to where such a table would be served learns why it is not, instead of a bare "no route".
  for (const u of unserved) {
    const base = `/api/${u.path}`;
    if (app.hasRoute({ method: 'GET', url: base })) continue;
    const answer = async (): Promise<never> => {
      throw new HttpError(404, 'NOT_FOUND', `${base} is not served: table ${u.table}: ${u.fix}`);
    };
    app.all(base, answer);
    app.all(`${base}/*`, answer);
  }
}
