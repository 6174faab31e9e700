// `npm run db:generate -- --name <name>`: drizzle-kit generate (add `--custom` for an
// empty file of hand-written SQL), from any folder of the clone. A name is required:
// drizzle-kit would otherwise pick a random one, and the migration list is read by people.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../database';


/** What is wrong with the arguments' migration name, or null when there is one to use. */
export function migrationNameProblem(args: readonly string[]): string | null {
  const i = args.findIndex((a) => a === '--name' || a.startsWith('--name='));
  if (i < 0) return 'name the migration: npm run db:generate -- --name add_supplier_notes (drizzle-kit would pick a random name)';
  const name = args[i]!.startsWith('--name=') ? args[i]!.slice('--name='.length) : args[i + 1];
  if (!name || name.startsWith('-')) return '--name needs a value, e.g. --name add_supplier_notes';
  if (!/^[a-z][a-z0-9_]*$/.test(name)) return `--name ${name}: use lower case letters, digits and _ (it becomes the file name, e.g. 0009_${name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}.sql)`;
  return null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const problem = migrationNameProblem(args);
  if (problem) {
    process.stderr.write(`error: ${problem}\n`);
    process.exit(2);
  }
  const bin = path.join(repoRoot, 'node_modules', '.bin', 'drizzle-kit');
  const run = spawnSync(bin, ['generate', '--config', path.join(repoRoot, 'drizzle.config.ts'), ...args], { stdio: 'inherit', cwd: repoRoot });
  if (run.status === 0 && args.includes('--custom')) endCustomFile();
  process.exit(run.status ?? 1);
}

/**
 * drizzle-kit writes a custom migration as one comment line with no line end, so a line
 * appended to it (`echo ... >>`) would join the comment and silently do nothing.
 */
function endCustomFile(): void {
  const migrations = path.join(repoRoot, 'db', 'migrations');
  const journal = JSON.parse(fs.readFileSync(path.join(migrations, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  const last = journal.entries.at(-1);
  if (!last) return;
  const file = path.join(migrations, `${last.tag}.sql`);
  const text = fs.readFileSync(file, 'utf8');
  if (!text.endsWith('\n')) fs.writeFileSync(file, `${text}\n`);
}
