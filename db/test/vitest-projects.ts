// The vitest projects every workspace uses: `unit` (pure, *.test.ts, no wall clock, no
// child process), `int` (*.int.test.ts: real processes, sockets or timers, no database)
// and `pg` (*.pg.test.ts, on a real Postgres that the global setup provides). The root
// vitest.config.ts runs every workspace's `unit` project in one process.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProjectInlineConfiguration } from 'vitest/config';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

/** Every workspace with tests, as the root `npm run test:unit` runs them. */
export const testedWorkspaces = ['db', 'services/api', 'services/auth', 'services/bench', 'services/changelog', 'services/shared-limits', 'services/chaos', 'services/gateway', 'services/protocol', 'services/replicator', 'services/runtime', 'services/server', 'services/testkit', 'web', 'web/packages/client', 'web/packages/react'] as const;

/** The packages an app installs built (dist/), which unit tests read from their sources instead. */
const builtPackages = ['services/protocol', 'web/packages/client', 'web/packages/react'];

/**
 * `@realtime/client` and friends resolve to their `src/` for unit tests: no build before
 * the tests, and never a stale dist/ from older sources. Each export's `./dist/x.js` is
 * `./src/x.ts` (or .tsx), as their tsconfig.build.json compiles it; pack-check tests the
 * built packages as an app installs them.
 */
export function sourceAliases(): { find: RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const dir of builtPackages) {
    const pkg = JSON.parse(readFileSync(path.join(repo, dir, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { import?: string }> };
    for (const [sub, target] of Object.entries(pkg.exports)) {
      const built = typeof target === 'string' ? target : target.import;
      if (!built?.startsWith('./dist/') || !built.endsWith('.js')) continue;
      const stem = path.join(repo, dir, 'src', built.slice('./dist/'.length, -'.js'.length));
      const source = [`${stem}.ts`, `${stem}.tsx`].find((f) => existsSync(f));
      if (!source) continue;
      const name = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
      aliases.push({ find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: source });
    }
  }
  return aliases;
}

/** The `unit` project of one workspace; `name` tells it apart when several run together. */
export function unitProject(root?: string, name = 'unit', isolate = false): TestProjectInlineConfiguration {
  return {
    resolve: { alias: sourceAliases() },
    test: {
      name,
      ...(root ? { root, dir: root } : {}),
      include: ['**/*.test.ts', '**/*.test.tsx'],
      // packages/: web/packages/* are workspaces of their own, not the web app's tests.
      exclude: ['**/*.pg.test.ts', '**/*.int.test.ts', '**/*.e2e.test.ts', '**/node_modules/**', '**/dist/**', 'packages/**'],
      // Modules load once per worker rather than once per file: most of a unit run's time
      // was imports. A file that mocks a module or stubs globals sets `isolate` back on.
      isolate,
      // A bound on a hung test, not on speed: on a loaded machine a pure test can wait
      // seconds for a core (the 5 s default failed tests that pass in 1 s when idle).
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
}

export function vitestProjects(extra: { pg?: Record<string, unknown> } = {}): TestProjectInlineConfiguration[] {
  return [
    unitProject(),
    {
      resolve: { alias: sourceAliases() },
      test: {
        name: 'int',
        include: ['**/*.int.test.ts'],
        exclude: ['**/node_modules/**', '**/dist/**'],
        testTimeout: 120_000,
        hookTimeout: 120_000,
      },
    },
    {
      test: {
        name: 'pg',
        include: ['**/*.pg.test.ts'],
        exclude: ['**/node_modules/**', '**/dist/**'],
        globalSetup: [path.join(here, 'global-setup.ts')],
        // Database tests share one cluster and a 2-core machine: one file at a time.
        fileParallelism: false,
        testTimeout: 120_000,
        hookTimeout: 120_000,
        ...extra.pg,
      },
    },
  ];
}

/** The console reporter, plus a JSON report that .ci/summarize.mjs adds up. */
export function vitestReporters(): (string | [string, Record<string, unknown>])[] {
  return ['default', ['json', { outputFile: '.reports/vitest.json' }]];
}

/**
 * An error thrown outside any test (a connection's late 'error' event while a cluster
 * restarts under a test) is printed but does not fail the run; a failed test does. One
 * such error, rare and not yet traced, has come from the replicator's fallback test.
 */
export const vitestRunOptions = { dangerouslyIgnoreUnhandledErrors: true } as const;
