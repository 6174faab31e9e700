// The built web app (web/dist), served by the same server as /api and /ws: files by
// path, index.html for every other page URL, JSON 404s under /api. No file outside the
// folder is ever read.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { routedPath } from './routed-path';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export function serveWebApp(app: FastifyInstance, dist: string): void {
  const root = path.resolve(dist);
  app.setNotFoundHandler(async (request, reply) => {
    // Decoded, as the router reads it: /%61pi/nothing is an /api path, answered in JSON.
    const pathname = routedPath(request);
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${pathname}` } });
    if (pathname.startsWith('/api/') || pathname === '/api') return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route GET ${pathname}` } });
    const wanted = path.resolve(root, `.${pathname}`);
    const inside = wanted === root || wanted.startsWith(root + path.sep);
    const file = inside && path.extname(wanted) ? wanted : path.join(root, 'index.html');
    try {
      const body = await fs.readFile(file);
      const immutable = file.includes(`${path.sep}assets${path.sep}`);
      return reply
        .header('content-type', types[path.extname(file)] ?? 'application/octet-stream')
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(body);
    } catch {
      if (file.endsWith('index.html')) {
        return reply.code(503).type('text/plain').send('The web app is not built yet: run `npm run build -w @realtime/web` (npm start does it for you).');
      }
      return reply.code(404).type('text/plain').send('not found');
    }
  });
}
