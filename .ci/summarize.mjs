// Sums the vitest JSON reports every workspace writes, into one closing line.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
const dirs = workspaces.flatMap((w) =>
  w.endsWith('/*') && existsSync(join(root, w.slice(0, -2)))
    ? readdirSync(join(root, w.slice(0, -2))).map((d) => join(w.slice(0, -2), d))
    : [w],
);
let passed = 0, failed = 0, skipped = 0, files = 0;
const reports = dirs.flatMap((dir) => {
  const folder = join(root, dir, '.reports');
  return existsSync(folder) ? readdirSync(folder).filter((f) => /^vitest.*\.json$/.test(f)).map((f) => join(folder, f)) : [];
});
for (const report of reports) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  files++;
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
if (files === 0) {
  console.error('no vitest report found: did the tests run?');
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed > 0 || passed === 0 ? 1 : 0);
