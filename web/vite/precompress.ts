// After `vite build`: a brotli (.br) and a gzip (.gz) copy beside each text file of
// web/dist, made once at the highest levels, which the server sends to a client that takes
// the encoding (services/api/src/static.ts; its list of text types is this one). A copy that
// would not be smaller is not written. Run: node --import tsx vite/precompress.ts dist
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const TEXT = /\.(html|js|css|svg|json|map|webmanifest|txt)$/;
/** Below this a copy saves less than its headers cost. */
export const MIN_BYTES = 1024;

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

export interface PrecompressSummary {
  files: number;
  bytes: number;
  br: number;
  gzip: number;
}

async function* filesOf(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesOf(full);
    else if (entry.isFile()) yield full;
  }
}

/** Writes the copies under `dir`; a copy left from an earlier build of a file that no longer needs one goes. */
export async function precompress(dir: string): Promise<PrecompressSummary> {
  const summary: PrecompressSummary = { files: 0, bytes: 0, br: 0, gzip: 0 };
  for await (const file of filesOf(dir)) {
    if (!TEXT.test(file)) continue;
    const body = await readFile(file);
    const copies: [string, Buffer | null][] = [
      ['.br', body.length < MIN_BYTES ? null : await brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })],
      ['.gz', body.length < MIN_BYTES ? null : await gz(body, { level: constants.Z_BEST_COMPRESSION })],
    ];
    let wrote = false;
    for (const [suffix, copy] of copies) {
      if (copy && copy.length < body.length) {
        await writeFile(file + suffix, copy);
        summary[suffix === '.br' ? 'br' : 'gzip'] += copy.length;
        wrote = true;
      } else await rm(file + suffix, { force: true });
    }
    if (wrote) {
      summary.files++;
      summary.bytes += body.length;
    }
  }
  return summary;
}

const kb = (n: number) => `${Math.round(n / 1024)} KB`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node --import tsx vite/precompress.ts <built folder>\n');
    process.exit(2);
  }
  precompress(path.resolve(dir)).then(
    (s) => process.stdout.write(`precompressed ${s.files} files of ${path.basename(path.resolve(dir))}: ${kb(s.bytes)}, brotli ${kb(s.br)}, gzip ${kb(s.gzip)}\n`),
    (err: unknown) => {
      process.stderr.write(`precompressing ${dir} failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
