// How deep a JSON value nests, measured without recursion: a value nested thousands deep
// overflows the stack of every recursive consumer (structured clones between threads, JSON
// text, IndexedDB), so it has to be found by something that is not one of them.

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
