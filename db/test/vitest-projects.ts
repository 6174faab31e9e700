// The two vitest projects every workspace uses: `unit` (pure, *.test.ts, seconds) and
// `pg` (*.pg.test.ts, on a real Postgres that the global setup provides).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProjectInlineConfiguration } from 'vitest/config';

const here = path.dirname(fileURLToPath(import.meta.url));

export function vitestProjects(extra: { pg?: Record<string, unknown> } = {}): TestProjectInlineConfiguration[] {
  return [
    {
      test: {
        name: 'unit',
        include: ['**/*.test.ts', '**/*.test.tsx'],
        exclude: ['**/*.pg.test.ts', '**/*.e2e.test.ts', '**/node_modules/**', '**/dist/**'],
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
