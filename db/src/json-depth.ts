// How deep a JSON value nests, measured without recursion: a value nested thousands deep
// overflows the stack of every recursive consumer (structured clones between threads, JSON
// text, IndexedDB), so it has to be found by something that is not one of them.

/** What a client may send (an API body, a socket message): far beyond any row of the app, far below any stack. */
export const JSON_DEPTH_LIMIT = 64;

/** Rows of the stream nest at most this deep (the capture trigger refuses deeper ones). */
export const STREAM_DEPTH_LIMIT = 255;

/** True when `value` nests arrays and objects more than `limit` levels deep; stops looking once it does. */
export function jsonDepthOver(value: unknown, limit: number): boolean {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length) {
    const { v, d } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > limit) return true;
    for (const item of Array.isArray(v) ? v : Object.values(v)) if (item !== null && typeof item === 'object') stack.push({ v: item, d: depth });
  }
  return false;
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

