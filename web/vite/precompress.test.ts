import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterEach, expect, test } from 'vitest';
import { MIN_BYTES, precompress } from './precompress';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dist(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'precompress-'));
  dirs.push(dir);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), body);
  }
  return dir;
}

test('text files get a brotli and a gzip copy that decode to the file; small files and images none', async () => {
  const script = `export const x = ${JSON.stringify('abc '.repeat(2000))};\n`;
  const dir = dist({
    'index.html': `<!doctype html>${'<p>shell</p>'.repeat(200)}`,
    'assets/app-1a2b.js': script,
    'assets/tiny-3c4d.js': 'export {};',
    'icon.png': Buffer.alloc(4096, 7),
  });
  const s = await precompress(dir);
  const js = path.join(dir, 'assets/app-1a2b.js');
  expect(brotliDecompressSync(readFileSync(`${js}.br`)).toString()).toBe(script);
  expect(gunzipSync(readFileSync(`${js}.gz`)).toString()).toBe(script);
  expect(existsSync(path.join(dir, 'index.html.br'))).toBe(true);
  expect(existsSync(path.join(dir, 'assets/tiny-3c4d.js.br'))).toBe(false);
  expect(existsSync(path.join(dir, 'icon.png.gz'))).toBe(false);
  expect(s.files).toBeGreaterThanOrEqual(2);
  expect(s.br).toBeLessThan(s.bytes);
  expect(s.gzip).toBeLessThan(s.bytes);
  // brotli at its highest level beats gzip on the same text.
  expect(readFileSync(`${js}.br`).length).toBeLessThan(readFileSync(`${js}.gz`).length);
});

test('running it again replaces the copies, and drops one a file no longer earns', async () => {
  const dir = dist({ 'a.js': 'x'.repeat(MIN_BYTES * 4) });
  await precompress(dir);
  expect(existsSync(path.join(dir, 'a.js.br'))).toBe(true);
  writeFileSync(path.join(dir, 'a.js'), 'small');
  await precompress(dir);
  expect(existsSync(path.join(dir, 'a.js.br'))).toBe(false);
  expect(existsSync(path.join(dir, 'a.js.gz'))).toBe(false);
});

test('a copy is never compressed again as if it were a file', async () => {
  const dir = dist({ 'a.js': 'y'.repeat(MIN_BYTES * 4) });
  await precompress(dir);
  await precompress(dir);
  expect(existsSync(path.join(dir, 'a.js.br.br'))).toBe(false);
  expect(existsSync(path.join(dir, 'a.js.gz.gz'))).toBe(false);
});
