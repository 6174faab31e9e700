// The reading half of `npm run test:repeat`: what failed in one run of `npm test`, from
// each workspace's vitest JSON report and from turbo's output (a task that failed without
// a failed test: a typecheck, a crash before the report), and the runs each failure came
// back in. Pure; scripts/test-repeat.ts runs the suite and keeps the logs.

/** One failed test (or task) of one run. */
export interface Failure {
  /** The workspace's package name. */
  pkg: string;
  /** The test file, relative to the repo root; '-' for a task that failed outside any test. */
  file: string;
  /** The test's full name, or what failed when no test did. */
  test: string;
}

/** What vitest's JSON reporter writes, as far as it is read here. */
export interface VitestReport {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { fullName: string; status: string }[];
  }[];
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** The failed tests of one workspace's report; a file that failed with no failed test (it did not load) counts once. */
export function failuresFromReport(report: VitestReport, pkg: string, repoRoot: string): Failure[] {
  const out: Failure[] = [];
  const rel = (file: string) => (file.startsWith(`${repoRoot}/`) ? file.slice(repoRoot.length + 1) : file);
  for (const f of report.testResults) {
    const failed = f.assertionResults.filter((a) => a.status === 'failed');
    for (const a of failed) out.push({ pkg, file: rel(f.name), test: a.fullName });
    if (!failed.length && f.status === 'failed') out.push({ pkg, file: rel(f.name), test: `(the file failed: ${firstLine(f.message) || 'no message'})` });
  }
  return out;
}

/**
 * Turbo's failed tasks: "<pkg>:<task>: ERROR: command finished with error" as a task ends,
 * and the closing "Failed: <pkg>#<task>, ..." line.
 */
export function failedTasks(output: string): { pkg: string; task: string }[] {
  const seen = new Map<string, { pkg: string; task: string }>();
  const add = (pkg: string, task: string) => seen.set(`${pkg}#${task}`, { pkg, task });
  for (const raw of output.split('\n')) {
    const line = raw.replace(ANSI, '').trim();
    const ended = /^(@?[\w./-]+):([\w:-]+): ERROR: command finished with error/.exec(line);
    if (ended) add(ended[1]!, ended[2]!);
    const closing = /^Failed:\s+(.+)$/.exec(line);
    if (closing) for (const id of closing[1]!.split(/[,\s]+/).filter(Boolean)) {
      const hash = id.lastIndexOf('#');
      if (hash > 0) add(id.slice(0, hash), id.slice(hash + 1));
    }
  }
  return [...seen.values()];
}

/**
 * A run's failures: every failed test in the reports, and each failed turbo task none of
 * whose tests failed (the reason is then in the run's log).
 */
export function runFailures(reports: { pkg: string; report: VitestReport }[], turboOutput: string, repoRoot: string): Failure[] {
  const tests = reports.flatMap((r) => failuresFromReport(r.report, r.pkg, repoRoot));
  const withTests = new Set(tests.map((f) => f.pkg));
  const tasks = failedTasks(turboOutput)
    .filter((t) => !withTests.has(t.pkg))
    .map((t) => ({ pkg: t.pkg, file: '-', test: `(${t.task} failed with no failed test: read the run's log)` }));
  return [...tests, ...tasks];
}

/** One line per failure across runs (numbered from 1), in package, file and test order. */
export function summarize(runs: Failure[][]): string[] {
  const byKey = new Map<string, { f: Failure; runs: number[] }>();
  runs.forEach((failures, i) => {
    for (const f of failures) {
      const key = `${f.pkg}\u0000${f.file}\u0000${f.test}`;
      const entry = byKey.get(key) ?? { f, runs: [] };
      if (!entry.runs.includes(i + 1)) entry.runs.push(i + 1);
      byKey.set(key, entry);
    }
  });
  return [...byKey.values()]
    .sort((a, b) => a.f.pkg.localeCompare(b.f.pkg) || a.f.file.localeCompare(b.f.file) || a.f.test.localeCompare(b.f.test))
    .map(({ f, runs: r }) => `${f.pkg}  ${f.file}  ${f.test}  (failed in run${r.length > 1 ? 's' : ''} ${r.join(', ')} of ${runs.length})`);
}

function firstLine(text: string | undefined): string {
  return (text ?? '').replace(ANSI, '').trim().split('\n')[0] ?? '';
}
