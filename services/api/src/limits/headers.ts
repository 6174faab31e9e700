// Security headers on every answer (the app, /api, /healthz): helmet with a
// Content-Security-Policy that the built web app (web/dist: one script and one stylesheet
// from /assets, nothing inline, Socket.IO to the same host) passes and nothing else does.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';

/**
 * The page's own host as WebSocket sources. CSP Level 3 browsers let 'self' cover ws: and
 * wss: of the same host; older ones (Safari before 15.4) need them named. The Host header
 * is the client's to choose, so only a plain host[:port] is echoed: anything else could
 * add a directive of its own.
 */
export function sameHostSockets(host: string | undefined): string {
  if (!host || !/^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(host)) return '';
  return `ws://${host} wss://${host}`;
}

export const cspDirectives = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // React sets style={{...}} through the CSSOM, which CSP does not govern: no 'unsafe-inline'.
  styleSrc: ["'self'"],
  // The favicon is `data:,` (web/index.html).
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'"],
  connectSrc: ["'self'", (req: IncomingMessage) => sameHostSockets(req.headers.host)],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  scriptSrcAttr: ["'none'"],
};

export function registerSecurityHeaders(app: FastifyInstance): void {
  void app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: cspDirectives },
    frameguard: { action: 'deny' },
    // Browsers honour HSTS only over https, where it is wanted; sibling hosts of the
    // deployment are not this app's to decide, hence no includeSubDomains.
    hsts: { maxAge: 31_536_000, includeSubDomains: false },
  });
}
