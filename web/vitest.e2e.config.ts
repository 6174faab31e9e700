// Browser tests: the real `npm start` process on a throwaway database, the built app,
// and Debian's chromium driven by playwright-core. `npm run test:e2e` runs them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { vitestReporters } from '../db/test/vitest-projects.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  test: {
    name: 'e2e',
    include: ['e2e/**/*.e2e.test.ts'],
    globalSetup: [path.join(here, '..', 'db', 'test', 'global-setup.ts')],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: vitestReporters().map((r) => (Array.isArray(r) ? [r[0], { outputFile: '.reports/vitest-e2e.json' }] : r)),
  },
});
