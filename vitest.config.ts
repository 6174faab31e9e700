// `npm run test:unit`: the `unit` project of every workspace in one vitest process (one
// start-up and one worker pool instead of one per workspace). Each workspace's own
// `npm run test:unit` runs the same project alone.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { testedWorkspaces, unitProject, vitestRunOptions } from './db/test/vitest-projects.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  test: {
    // The web app's tests mock socket.io-client: they keep a module registry per file.
    projects: testedWorkspaces.map((dir) => unitProject(path.join(here, dir), dir, dir === 'web')),
    // Every core: a unit run is imports and pure work, with nothing else to wait for
    // (vitest's default leaves one core idle, half of a 2-core machine).
    maxWorkers: Math.max(2, availableParallelism()),
    ...vitestRunOptions,
  },
});
