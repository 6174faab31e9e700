// The web app's files as the server sends them: the copy the build compressed when the
// client takes its encoding, the file itself otherwise, with the headers a cache needs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serveWebApp } from '../src/static';

let dir: string;
let app: FastifyInstance;
const script = `console.log(${JSON.stringify('x'.repeat(5000))});\n`;
const page = `<!doctype html><title>app</title><div id="root">${'shell '.repeat(300)}</div>`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'static-web-'));
  mkdirSync(path.join(dir, 'assets'));
  const write = (name: string, text: string, copies: ('br' | 'gz')[]) => {
    writeFileSync(path.join(dir, name), text);
    if (copies.includes('br')) writeFileSync(path.join(dir, `${name}.br`), brotliCompressSync(text));
    if (copies.includes('gz')) writeFileSync(path.join(dir, `${name}.gz`), gzipSync(text));
  };
  write('index.html', page, ['br', 'gz']);
  write('assets/app-1a2b3c.js', script, ['br', 'gz']);
  write('assets/only-gzip-4d5e.css', 'body{margin:0}'.repeat(200), ['gz']);
  write('assets/small-6f7a.js', 'export {};', []);
  writeFileSync(path.join(dir, 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(path.join(dir, 'icon.png.gz'), gzipSync(Buffer.from([0x89, 0x50, 0x4e, 0x47])));
  app = Fastify();
  serveWebApp(app, dir);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, acceptEncoding?: string) => app.inject({ method: 'GET', url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });

describe('precompressed copies', () => {
  test.each<[string, string | undefined, string | undefined, string]>([
    ['/assets/app-1a2b3c.js', 'gzip, deflate, br, zstd', 'br', script],
    ['/assets/app-1a2b3c.js', 'gzip, deflate', 'gzip', script],
    ['/assets/app-1a2b3c.js', 'br;q=0, gzip', 'gzip', script],
    ['/assets/app-1a2b3c.js', undefined, undefined, script],
    ['/assets/app-1a2b3c.js', 'identity', undefined, script],
    ['/assets/only-gzip-4d5e.css', 'br, gzip', 'gzip', 'body{margin:0}'.repeat(200)],
    ['/assets/only-gzip-4d5e.css', 'br', undefined, 'body{margin:0}'.repeat(200)],
    ['/assets/small-6f7a.js', 'br, gzip', undefined, 'export {};'],
    ['/', 'br', 'br', page],
    ['/projects/some-page', 'gzip', 'gzip', page],
  ])('%s with Accept-Encoding %j: %s', async (url, accept, encoding, text) => {
    const res = await get(url, accept);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe(encoding);
    expect(res.headers.vary).toBe('accept-encoding');
    const body = encoding === 'br' ? brotliDecompressSync(res.rawPayload) : encoding === 'gzip' ? gunzipSync(res.rawPayload) : res.rawPayload;
    expect(body.toString()).toBe(text);
    if (encoding) expect(res.rawPayload.length).toBeLessThan(Buffer.byteLength(text));
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
  });

  test('hashed assets stay cached for a year, the page is asked again each time, whatever the encoding', async () => {
    expect((await get('/assets/app-1a2b3c.js', 'br')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get('/', 'br')).headers['cache-control']).toBe('no-cache');
    expect((await get('/assets/app-1a2b3c.js', 'br')).headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  test('an image is sent as it is, even beside a compressed copy, and says nothing of encodings', async () => {
    const res = await get('/icon.png', 'gzip, br');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBeUndefined();
    expect([...res.rawPayload]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  test('a missing file is still a 404, and a path out of the folder still gets the page, never the file', async () => {
    expect((await get('/assets/nothing.js', 'br')).statusCode).toBe(404);
    const out = await get('/..%2F..%2Fetc%2Fpasswd.js', 'br');
    expect(brotliDecompressSync(out.rawPayload).toString()).toBe(page);
  });
});
