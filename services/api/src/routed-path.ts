// Which route a request is for, as every check must judge it: Fastify decodes a path
// before it routes, so /%61pi/projects reaches /api/projects while its raw text names nothing.
import type { FastifyRequest } from 'fastify';

/** The path of the route that answers the request (its pattern), else the decoded path. */
export function routedPath(request: FastifyRequest): string {
  const pattern = request.routeOptions?.url;
  if (pattern !== undefined && pattern !== '*' && pattern !== '/*') return pattern;
  const raw = request.url.split('?')[0]!;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
