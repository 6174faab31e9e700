// Which precompressed copy of a web app file to send: from the request's Accept-Encoding,
// the encodings the build writes beside each text file (.br, .gz), best first.

export type Precompressed = 'br' | 'gzip';

/** The file name ending of each encoding's copy. */
export const COPY_SUFFIX: Record<Precompressed, string> = { br: '.br', gzip: '.gz' };

/** Types worth compressing: text. Images and fonts (png, ico, woff2) are compressed already. */
const TEXT = new Set(['.html', '.js', '.css', '.svg', '.json', '.map', '.webmanifest', '.txt']);
export const isCompressible = (ext: string): boolean => TEXT.has(ext);

/**
 * The precompressed encodings the client takes, by its q-values (highest first; brotli on a
 * tie, being smaller). An encoding not named takes the q of `*`; q=0 refuses it. No header,
 * or a header naming neither, gives none: identity.
 */
export function acceptedEncodings(header: string | undefined): Precompressed[] {
  if (!header) return [];
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.toLowerCase().split(';');
    const name = rawName!.trim();
    if (!name) continue;
    let value = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*(.*?)\s*$/.exec(p);
      if (!m) continue;
      // A q it cannot read refuses the coding: better identity than bytes it may not take.
      value = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(m[1]!) ? Number(m[1]) : 0;
    }
    q.set(name === 'x-gzip' ? 'gzip' : name, value);
  }
  const of = (enc: Precompressed) => q.get(enc) ?? q.get('*') ?? 0;
  return (['br', 'gzip'] as const).filter((enc) => of(enc) > 0).sort((a, b) => of(b) - of(a));
}
