// Every failure the API can answer with, mapped to a status and a message that names
// what is wrong, in one place. Clients never see a stack trace.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toCamelCase } from 'drizzle-orm/casing';
import { z } from 'zod';
import type { Logger } from '@realtime/runtime';
import { noteLimited } from '@realtime/runtime';
import { TEXT_LIMIT } from './limits/text';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Sent with the answer, e.g. Retry-After with a 429. */
    readonly headers: Record<string, string> = {},
    /** More of the error body: the fields at fault, or a conflict's current row. */
    readonly details: Pick<ErrorBody['error'], 'fields' | 'current'> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new HttpError(404, 'NOT_FOUND', `no ${what} with id ${id}`);

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    fields?: Record<string, string>;
    requestId?: string;
    /** A 409 of a write whose If-Match is stale: the row as it is now, shaped as GET returns it. */
    current?: Record<string, unknown>;
  };
}

interface PgError {
  code?: string;
  table?: string;
  detail?: string;
  constraint?: string;
  column?: string;
  message?: string;
}

/** Postgres refusals that are the client's doing, as 400/409 with the field named. */
function fromPostgres(e: PgError): { status: number; body: ErrorBody } | null {
  switch (e.code) {
    case '23503': {
      // A parent of the row's own project (migration 0014's `<table>_<parent>_same_project_fk`).
      // Under row-level security Postgres names no key values: the constraint tells the field,
      // and the answer says nothing of whether the parent exists in another project.
      const same = e.table && e.constraint?.startsWith(`${e.table}_`) && e.constraint.endsWith('_same_project_fk') ? e.constraint.slice(e.table.length + 1, -'_same_project_fk'.length) : null;
      if (same) {
        const field = `${toCamelCase(same)}Id`;
        return { status: 400, body: { error: { code: 'BAD_REQUEST', message: `${field}: no ${same.replace(/_/g, ' ')} with that id in the row's project`, fields: { [field]: "not in the row's project" } } } };
      }
      const m = /Key \((\w+)\)=\(([^)]*)\) is not present in table "(\w+)"/.exec(e.detail ?? '');
      if (m) {
        const field = toCamelCase(m[1]!);
        return { status: 400, body: { error: { code: 'BAD_REQUEST', message: `${field}: no ${m[3]} row with id ${m[2]}`, fields: { [field]: `no such ${m[3]} row` } } } };
      }
      return { status: 409, body: { error: { code: 'CONFLICT', message: 'the row is still referenced by other rows' } } };
    }
    case '23000':
      if (e.constraint === 'project_members_last_owner') {
        return { status: 409, body: { error: { code: 'CONFLICT', message: "a project keeps at least one owner: make someone else an owner first, or delete the project" } } };
      }
      return null;
    case '23514': {
      const m = /^\w+?_(\w+)_check$/.exec(e.constraint ?? '');
      const field = m ? toCamelCase(m[1]!) : 'body';
      return { status: 400, body: { error: { code: 'BAD_REQUEST', message: `${field}: value out of range (${e.constraint})`, fields: { [field]: 'out of range' } } } };
    }
    case '23502':
      return { status: 400, body: { error: { code: 'BAD_REQUEST', message: `${toCamelCase(e.column ?? 'field')}: required`, fields: { [toCamelCase(e.column ?? 'field')]: 'required' } } } };
    case '42501':
      // Row-level security refused the new row: a write into a project where the user's
      // role is short (a move included), or a forbidden privilege.
      return {
        status: 403,
        body: { error: { code: 'FORBIDDEN', message: 'not allowed: writing a row into a project needs the editor role there (the project itself, and its members: owner)' } },
      };
    case '22P02':
    case '22007':
    case '22008':
    case '22003':
      // The database's own wording would tell a client about its internals; the log has it.
      return { status: 400, body: { error: { code: 'BAD_REQUEST', message: 'a value has the wrong format or is out of range' } } };
    default:
      return null;
  }
}

/** A request part checked by its schema; a 400 that names each field otherwise. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, 'BAD_REQUEST', zodToBody(r.error, where).error.message);
  return r.data;
}

export function zodToBody(error: z.ZodError, where: string): ErrorBody {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) fields[issue.path.join('.') || where] = issue.message;
  const message = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return { error: { code: 'BAD_REQUEST', message: `invalid ${where}: ${message}`, fields } };
}

/** A body over the limit, refused by Fastify before it is read (from Content-Length) or while. */
export function tooLarge(limitBytes: number | undefined): ErrorBody {
  const limit = limitBytes ? `at most ${limitBytes} bytes` : 'smaller';
  return { error: { code: 'PAYLOAD_TOO_LARGE', message: `the request body is too large: ${limit} (HTTP_BODY_LIMIT_BYTES); text fields take at most ${TEXT_LIMIT} characters each` } };
}

export function errorHandler(log: Logger) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HttpError) return reply.code(err.status).headers(err.headers).send({ error: { code: err.code, message: err.message, ...err.details } } satisfies ErrorBody);
    if (err instanceof z.ZodError) return reply.code(400).send(zodToBody(err, 'request'));
    const pg = fromPostgres(((err as { cause?: unknown }).cause ?? err) as PgError);
    if (pg) {
      if (pg.status >= 400 && pg.body.error.code === 'BAD_REQUEST' && !pg.body.error.fields) log.info({ err, requestId: request.id, url: request.url }, 'refused a value the database could not take');
      return reply.code(pg.status).send({ error: { ...pg.body.error, requestId: request.id } });
    }
    const fe = err as FastifyError;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      noteLimited(log, 'body_size', { ip: request.ip });
      return reply.code(413).send(tooLarge(request.routeOptions.bodyLimit));
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ error: { code: 'BAD_REQUEST', message: fe.message } } satisfies ErrorBody);
    }
    log.error({ err, requestId: request.id, url: request.url, method: request.method }, 'request failed');
    return reply
      .code(500)
      .send({ error: { code: 'INTERNAL', message: `internal error; the server log has the details under request id ${request.id}`, requestId: request.id } } satisfies ErrorBody);
  };
}
