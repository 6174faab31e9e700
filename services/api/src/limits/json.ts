// What a request body may be: JSON, and no deeper than JSON_DEPTH_LIMIT. A cross-site form
// can POST `text/plain` or `application/x-www-form-urlencoded` without a preflight, so a
// state-changing route that took those would act on a request another site made; JSON
// needs a preflight, which the API never answers for a foreign origin. And a value nested
// thousands deep parses fine but overflows the stack of everything recursive after it
// (serializing, structured clones between threads, Postgres's jsonb): it is refused
// before it is parsed, by a scan that does not recurse.
import type { FastifyInstance } from 'fastify';
import { JSON_DEPTH_LIMIT } from '@realtime/db';
import { HttpError } from '../errors';

export { JSON_DEPTH_LIMIT, measureJson } from '@realtime/db';

/**
 * The deepest nesting of arrays and objects in a JSON text, without parsing it and without
 * recursion; stops counting once past `stopAt`. Brackets inside strings do not count.
 */
export function jsonTextDepth(text: string, stopAt = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAt) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}

const isJson = (contentType: string | undefined): boolean => /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType ?? '');

/**
 * The API's body parsers: JSON only (text/plain goes), depth-checked before parsing; and a
 * POST, PUT or PATCH under /api must say it is JSON even with no body (sign-out has none).
 */
export function registerJsonOnly(app: FastifyInstance, opts: { depthLimit?: number } = {}): void {
  const limit = opts.depthLimit ?? JSON_DEPTH_LIMIT;
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonTextDepth(text, limit) > limit) {
      done(new HttpError(400, 'BAD_REQUEST', `the JSON body is nested deeper than ${limit} levels of arrays and objects (the limit); send a flatter value`), undefined);
      return;
    }
    // An empty body with the JSON type (a bodyless POST that says what it would send) is no body.
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parse(request, text, done);
  });
  app.addHook('onRequest', async (request) => {
    if (request.method !== 'POST' && request.method !== 'PUT' && request.method !== 'PATCH') return;
    const path = request.url.split('?')[0]!;
    // Any spelling of a path under /api (percent-encoded too) is judged the same.
    let decoded = path;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      // Left raw: the router refuses it.
    }
    if (!(decoded === '/api' || decoded.startsWith('/api/'))) return;
    if (!isJson(request.headers['content-type'])) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `${request.method} requests under /api send Content-Type: application/json (a body of another type, or none without it, could come from a form on another site)`);
    }
  });
}
