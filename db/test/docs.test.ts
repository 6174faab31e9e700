// The docs stay true of the repository: every relative link leads to a file (and heading),
// the README's configuration table and the env.ts schemas name the same variables, every
// migration is listed, no page points outside the repo, and each page stays short.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../src/database';
import { anchors, envVariables, headingAnchor, relativeLinks, tableVariables, wordCount } from './docs-check';

describe('docs-check', () => {
  test.each([
    ['[a](docs/api.md) and [b](#here)', ['docs/api.md', '#here']],
    ['[site](https://example.com) [mail](mailto:a@b.c)', []],
    ['```md\n[in code](nowhere.md)\n```\n[out](there.md#x)', ['there.md#x']],
    ['<!-- [noted](nowhere.md) -->', []],
    ['![shot](docs/screenshot.png)', ['docs/screenshot.png']],
  ])('relativeLinks(%j)', (md, links) => {
    expect(relativeLinks(md)).toEqual(links);
  });

  test.each([
    ['Configuration', 'configuration'],
    ['HTTP limits', 'http-limits'],
    ['Client: `@realtime/client` and `@realtime/react`', 'client-realtimeclient-and-realtimereact'],
    ['In `npm start`: the worker thread', 'in-npm-start-the-worker-thread'],
    ['Replay, then live', 'replay-then-live'],
  ])('headingAnchor(%j)', (heading, anchor) => {
    expect(headingAnchor(heading)).toBe(anchor);
  });

  test('anchors skip headings inside code', () => {
    expect([...anchors('# Title\n```sh\n# a comment\n```\n## Two words\n')]).toEqual(['title', 'two-words']);
  });

  test.each([
    ['the rows of its section, first column only', '## Configuration\n\n| variable | default |\n| --- | --- |\n| `A_B` | `X_Y` |\n| `C`, `D_1` | none |\n\n## Next\n| `E` | |\n', ['A_B', 'C', 'D_1']],
    ['no such section', '## Other\n| `A` | |\n', []],
  ])('tableVariables: %s', (_, md, vars) => {
    expect(tableVariables(md, 'Configuration')).toEqual(vars);
  });

  test.each([
    ['keys of a schema', "z.object({\n  PORT: int(0, 65535, 3000),\n  HOST: z.string(),\n});", ['PORT', 'HOST']],
    ['a retired variable refused with its fix', "z.object({\n  KEPT: z.string(),\n  OLD_ONE: z\n    .undefined({ error: 'renamed' })\n    .optional(),\n});", ['KEPT']],
    ['not a key: inside a line, or lower case', "const owned = /^(DATABASE_URL|PORT)/;\nfoo: 1,\nf(env: { PING_MS: number })", []],
  ])('envVariables: %s', (_, source, vars) => {
    expect(envVariables(source)).toEqual(vars);
  });

  test.each([
    ['', 0],
    ['one  two\nthree\t`four`', 4],
  ])('wordCount(%j)', (text, n) => {
    expect(wordCount(text)).toBe(n);
  });
});

const read = (rel: string): string => fs.readFileSync(path.join(repoRoot, rel), 'utf8');

/** The pages this check holds, with their word limits (benchmarks.md is written by `npm run bench`). */
const pages: [string, number][] = [
  ['README.md', 1500],
  ['services/README.md', 600],
  ['web/README.md', 600],
  ['docs/architecture.md', 1200],
  ...fs
    .readdirSync(path.join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'architecture.md' && f !== 'benchmarks.md')
    .map((f): [string, number] => [`docs/${f}`, 2200]),
];

const skipped = new Set(['node_modules', 'dist', '.git', '.data', '.turbo', '.reports']);

function envFiles(dir = repoRoot): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skipped.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...envFiles(full));
    else if (entry.name === 'env.ts') out.push(path.relative(repoRoot, full));
  }
  return out;
}

describe('the docs of this repository', () => {
  test.each(pages)('%s: relative links lead to files and headings that exist', (page) => {
    const broken: string[] = [];
    for (const link of relativeLinks(read(page))) {
      const [file, anchor] = link.split('#') as [string, string | undefined];
      const target = file === '' ? page : path.join(path.dirname(page), file);
      if (!fs.existsSync(path.join(repoRoot, target))) {
        broken.push(`${link}: no file ${target}`);
        continue;
      }
      if (anchor && target.endsWith('.md') && !anchors(read(target)).has(anchor)) broken.push(`${link}: no heading #${anchor} in ${target}`);
    }
    expect(broken, `${page} links to what does not exist: fix the link or the page it names`).toEqual([]);
  });

  test.each(pages)('%s stays under its word limit and inside the repository', (page, limit) => {
    const text = read(page);
    expect(wordCount(text), `${page} is over ${limit} words: say it once, or move detail to the page of its part`).toBeLessThanOrEqual(limit);
    expect(text, `${page} names a path outside the repository`).not.toMatch(/\.\.\/shared/);
  });

  test("the README's configuration table names exactly the variables the env.ts schemas declare", () => {
    const files = envFiles();
    expect(files.length).toBeGreaterThan(0);
    const declared = new Set(files.flatMap((f) => envVariables(read(f))));
    const documented = new Set(tableVariables(read('README.md'), 'Configuration'));
    const undocumented = [...declared].filter((v) => !documented.has(v)).sort();
    const unknown = [...documented].filter((v) => !declared.has(v)).sort();
    expect(undocumented, `declared in ${files.join(', ')} but missing from README.md's configuration table: add a row`).toEqual([]);
    expect(unknown, 'in README.md\'s configuration table but declared by no env.ts: remove the row or declare the variable').toEqual([]);
  });

  test('every migration is listed in docs/capture.md', () => {
    const listed = read('docs/capture.md');
    const missing = fs
      .readdirSync(path.join(repoRoot, 'db', 'migrations'))
      .filter((f) => f.endsWith('.sql') && !listed.includes(`\`${f}\``));
    expect(missing, 'add a row per migration to the table in docs/capture.md, "Migrations"').toEqual([]);
  });
});
