// The import arrows follow the architecture: the replicator imports only from runtime,
// db, protocol and changelog; the gateway from runtime, db, protocol, auth, changelog and
// shared-limits; the API from runtime, db, protocol, auth and shared-limits (the limits
// both count across processes live below both, not in one of them); none from another;
// only the composition roots (server, bench, chaos) and tests bring parts together. Read from every package.json and every import of the three
// parts' sources.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const services = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PARTS = ['replicator', 'gateway', 'api'] as const;
const ALLOWED: Record<(typeof PARTS)[number], Set<string>> = {
  replicator: new Set(['@realtime/runtime', '@realtime/db', '@realtime/protocol', '@realtime/changelog']),
  gateway: new Set(['@realtime/runtime', '@realtime/db', '@realtime/protocol', '@realtime/auth', '@realtime/changelog', '@realtime/shared-limits']),
  api: new Set(['@realtime/runtime', '@realtime/db', '@realtime/protocol', '@realtime/auth', '@realtime/shared-limits']),
};

/** The @realtime package an import specifier names, or null for anything else. */
function realtimePackage(specifier: string): string | null {
  const m = /^(@realtime\/[^/]+)/.exec(specifier);
  return m ? m[1]! : null;
}

/** Every module specifier of a source text: static imports and exports, and dynamic imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:^|[\s;}])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    found.push((m[1] ?? m[2] ?? m[3])!);
  }
  return found;
}

/** The offences of one part: `file: specifier` for each import of a sibling or a package above it. */
function offences(part: (typeof PARTS)[number], files: { file: string; source: string }[]): string[] {
  const out: string[] = [];
  for (const { file, source } of files) {
    for (const spec of specifiers(source)) {
      const pkg = realtimePackage(spec);
      if (pkg && pkg !== `@realtime/${part}` && !ALLOWED[part].has(pkg)) out.push(`${file}: imports ${spec}`);
    }
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    // Unit tests sit beside the code and follow the same rule; integration tests live in test/.
    return /\.(ts|tsx|mts|mjs)$/.test(name) ? [p] : [];
  });
}

describe('specifiers', () => {
  test.each([
    [`import { a } from '@realtime/db';`, ['@realtime/db']],
    [`import type { B } from "@realtime/gateway";`, ['@realtime/gateway']],
    [`import {\n  a,\n  b,\n} from '@realtime/replicator';`, ['@realtime/replicator']],
    [`export { x } from './x';`, ['./x']],
    [`export * from '@realtime/api';`, ['@realtime/api']],
    [`import '@realtime/gateway/side-effect';`, ['@realtime/gateway/side-effect']],
    [`const m = await import('@realtime/api');`, ['@realtime/api']],
    [`// a comment that mentions from '@realtime/api' is not an import`, []],
  ])('%s', (source, want) => {
    expect(specifiers(source)).toEqual(want);
  });
});

test('each part has its own list: the replicator may import the change log but not auth, the API neither; the API and the gateway the shared limits, the replicator not', () => {
  expect(offences('replicator', [{ file: 'services/replicator/src/x.ts', source: `import { ChangeLog } from '@realtime/changelog';\nimport { sign } from '@realtime/auth';` }])).toEqual([
    'services/replicator/src/x.ts: imports @realtime/auth',
  ]);
  expect(offences('gateway', [{ file: 'services/gateway/src/x.ts', source: `import { ChangeLog } from '@realtime/changelog';` }])).toEqual([]);
  expect(offences('api', [{ file: 'services/api/src/x.ts', source: `import { ChangeLog } from '@realtime/changelog';` }])).toEqual(['services/api/src/x.ts: imports @realtime/changelog']);
  const shared = `import { Leases } from '@realtime/shared-limits';`;
  expect(offences('api', [{ file: 'services/api/src/x.ts', source: shared }])).toEqual([]);
  expect(offences('gateway', [{ file: 'services/gateway/src/x.ts', source: shared }])).toEqual([]);
  expect(offences('replicator', [{ file: 'services/replicator/src/x.ts', source: shared }])).toEqual(['services/replicator/src/x.ts: imports @realtime/shared-limits']);
});

test('an import of a sibling is named with its file', () => {
  expect(offences('api', [{ file: 'services/api/src/x.ts', source: `import { Gateway } from '@realtime/gateway';\nimport { createLogger } from '@realtime/runtime';` }])).toEqual([
    'services/api/src/x.ts: imports @realtime/gateway',
  ]);
});

describe.each(PARTS)('%s', (part) => {
  test('its sources import no sibling', () => {
    const root = path.join(services, part, 'src');
    const files = sources(root).map((file) => ({ file: path.relative(services, file), source: readFileSync(file, 'utf8') }));
    expect(files.length).toBeGreaterThan(0);
    expect(offences(part, files)).toEqual([]);
  });

  test('its package.json depends on no sibling (tests may, as devDependencies)', () => {
    const pkg = JSON.parse(readFileSync(path.join(services, part, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const wrong = Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@realtime/') && !ALLOWED[part].has(d));
    expect(wrong, `move these to devDependencies or out of ${part}`).toEqual([]);
  });
});
