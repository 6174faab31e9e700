// The package's sources import only the runtime, the db package's types, node's own
// modules, zod (its env piece) and the Redis client: the replicator and the gateway can both depend on it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const src = path.dirname(fileURLToPath(import.meta.url));

/** The imports of a source that break the rule, as `specifier (why)`. */
function offences(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?\sfrom\s+['"]([^'"]+)['"]/gm)) {
    const [, , typeOnly, spec] = m as unknown as [string, string, string | undefined, string];
    if (spec.startsWith('./') || spec.startsWith('node:') || spec === 'redis' || spec === 'zod' || spec === '@realtime/runtime') continue;
    if (spec === '@realtime/db' && typeOnly) continue;
    out.push(spec === '@realtime/db' ? `${spec} (types only: import type)` : `${spec} (not runtime, db types, node, zod or redis)`);
  }
  return out;
}

test.each([
  [`import type { StampedChange } from '@realtime/db';`, []],
  [`import { createClient } from 'redis';\nimport type { Logger } from '@realtime/runtime';`, []],
  [`import { fingerprint } from '@realtime/db';`, ['@realtime/db (types only: import type)']],
  [`import { Gateway } from '@realtime/gateway';`, ['@realtime/gateway (not runtime, db types, node, zod or redis)']],
  [`export { x } from 'ioredis';`, ['ioredis (not runtime, db types, node, zod or redis)']],
])('%s', (source, want) => {
  expect(offences(source)).toEqual(want);
});

test('the sources keep to it', () => {
  const files = readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  expect(files.length).toBeGreaterThan(0);
  expect(files.flatMap((f) => offences(readFileSync(path.join(src, f), 'utf8')).map((o) => `${f}: ${o}`))).toEqual([]);
});
