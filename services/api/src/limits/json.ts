// What a request body may be: JSON, and no deeper than JSON_DEPTH_LIMIT. A cross-site form
// can POST `text/plain` or `application/x-www-form-urlencoded` without a preflight, so a
// state-changing route that took those would act on a request another site made; JSON
// needs a preflight, which the API never answers for a foreign origin. And a value nested
// thousands deep parses fine but overflows the stack of everything recursive after it
// (serializing, structured clones between threads, Postgres's jsonb): it is refused
// before it is parsed, by a scan that does not recurse.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../errors';

/** Arrays and objects inside one another, at most: far beyond any row of the app, far below any stack. */
export const JSON_DEPTH_LIMIT = 64;

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

/**
 * The size of a value as JSON text (characters) and its nesting, measured without recursion
 * (an explicit stack), stopping as soon as either passes its bound: a value built in
 * code, not parsed from a request, gets the same bounds as a body.
 */
export function measureJson(value: unknown, bounds: { size: number; depth: number }): { size: number; depth: number; over: 'size' | 'depth' | null } {
  let size = 0;
  let deepest = 0;
  if (value === undefined) return { size: 0, depth: 0, over: null };
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length) {
    const { v, d } = stack.pop()!;
    // null, and undefined in an array (JSON.stringify writes null there).
    if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') size += 4;
    else if (typeof v === 'string') size += JSON.stringify(v).length;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') size += String(v).length;
    else if (typeof v === 'object') {
      const depth = d + 1;
      if (depth > deepest) deepest = depth;
      if (deepest > bounds.depth) return { size, depth: deepest, over: 'depth' };
      if (Array.isArray(v)) {
        size += 2 + Math.max(0, v.length - 1);
        for (const item of v) stack.push({ v: item, d: depth });
      } else {
        // JSON.stringify leaves out keys whose value has no JSON form.
        const entries = Object.entries(v as Record<string, unknown>).filter(([, item]) => item !== undefined && typeof item !== 'function' && typeof item !== 'symbol');
        size += 2 + Math.max(0, entries.length - 1);
        for (const [k, item] of entries) {
          size += JSON.stringify(k).length + 1;
          stack.push({ v: item, d: depth });
        }
      }
    }
    if (size > bounds.size) return { size, depth: deepest, over: 'size' };
  }
  return { size, depth: deepest, over: null };
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
