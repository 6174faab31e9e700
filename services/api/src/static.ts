// The built web app (web/dist), served by the same server as /api and /ws: files by
// path, index.html for every other page URL, JSON 404s under /api. No file outside the
// folder is ever read. Text files go as the copy the build compressed beside them (.br,
// .gz) when the client takes that encoding: on a slow network the app's script is a
// third of its size, and nothing is compressed per request.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { routedPath } from './routed-path';
import { acceptedEncodings, COPY_SUFFIX, isCompressible, type Precompressed } from './encoding';

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
      const compressible = isCompressible(path.extname(file));
      const { body, encoding } = compressible ? await readBest(file, request.headers['accept-encoding']) : { body: await fs.readFile(file), encoding: null };
      const immutable = file.includes(`${path.sep}assets${path.sep}`);
      if (compressible) reply.header('vary', 'accept-encoding');
      if (encoding) reply.header('content-encoding', encoding);
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

/** The best copy of `file` the client takes that the build wrote, else the file itself. */
async function readBest(file: string, accept: string | string[] | undefined): Promise<{ body: Buffer; encoding: Precompressed | null }> {
  for (const encoding of acceptedEncodings(Array.isArray(accept) ? accept.join(',') : accept)) {
    try {
      return { body: await fs.readFile(file + COPY_SUFFIX[encoding]), encoding };
    } catch {
      // Not written for this file (small, or a build without the step): the next one.
    }
  }
  return { body: await fs.readFile(file), encoding: null };
}
