// `npm run bench -- windows`: live windows in chromium, a project of 10 jobs beside one of
// 100,000 (time to first rows cold and warm, bytes, long tasks and frame rate under 1,000
// changes/s). The browser part lives with the web app's e2e kit (web/bench/windows.ts);
// this builds the app, runs it and prints its figures, ratios and goals.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '@realtime/db';
import { fmt, out } from './stats';
import { parseWindowsOptions, windowsFigures, windowsGoals, windowsJson, type FirstRows, type WindowsFigures, type WindowsOptions, type WindowsRaw } from './windows-figures';

type Measure = (o: Omit<WindowsOptions, 'json'>, progress: (line: string) => void) => Promise<WindowsRaw>;

/** The web app as the server serves it (web/dist), built from this tree. */
function buildWeb(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '-w', '@realtime/web', '--silent'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`building the web app (npm run build -w @realtime/web) failed with exit ${code}; fix the build first:\n${output}`))));
  });
}

const kb = (n: number) => (Number.isFinite(n) ? `${(n / 1024).toFixed(1)} kB` : 'n/a');
const ms = (n: number | null) => (n !== null && Number.isFinite(n) ? `${Math.round(n)} ms` : 'n/a');
const times = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)}x`);

function table(f: WindowsFigures): string[] {
  const head = ['', 'first rows', 'bytes', '/api bytes', 'requests'];
  const row = (name: string, x: FirstRows) => [name, ms(x.ms), kb(x.bytes), kb(x.apiBytes), String(x.requests)];
  const body = (['small', 'large'] as const).flatMap((p) => (['cold', 'warm'] as const).map((k) => row(`${fmt(f.jobs[p])} jobs, ${k}`, f.firstRows[p][k])));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  return [line(head), ...body.map(line)];
}

export async function windowsBench(argv: string[]): Promise<WindowsFigures> {
  const o = parseWindowsOptions(argv);
  const loadAtStart = os.loadavg();
  out(`windows: projects of ${fmt(o.smallJobs)} and ${fmt(o.largeJobs)} jobs in chromium, ${o.rounds} round(s) of cold and warm loads each; then ${fmt(o.rate)} changes/s for ${o.seconds} s to the large one while its page scrolls`);
  out('  building the web app');
  await buildWeb();
  // Loaded at run time, not imported: it is the web workspace's code, type-checked there
  // with the DOM types (its WindowsRaw is this package's, field for field).
  const { measureWindows } = (await import(pathToFileURL(path.join(repoRoot, 'web', 'bench', 'windows.ts')).href)) as { measureWindows: Measure };
  const raw = await measureWindows(o, out);
  const f = windowsFigures(raw);
  const u = f.underLoad;
  out('');
  out(`medians of ${o.rounds} round(s), from the navigation's start to the first job row (bytes: HTTP and WebSocket until then):`);
  for (const l of table(f)) out(l);
  out(`  ${fmt(f.jobs.large)} against ${fmt(f.jobs.small)} jobs, time to first rows: cold ${times(f.ratios.cold)}, warm ${times(f.ratios.warm)}`);
  out(`under ${fmt(u.changesPerSecond)} changes/s (asked ${fmt(o.rate)}) for ${o.seconds} s, scrolling the ${fmt(f.jobs.large)}-job project:`);
  out(`  long tasks: ${u.longTasks.count}, ${ms(u.longTasks.totalMs)} in all, longest ${ms(u.longTasks.maxMs)}, ${u.longTasks.over200} over 200 ms; ${u.fps === null ? 'n/a' : u.fps.toFixed(1)} frames/s; scrolled down to row ${fmt(u.rowsLoaded)}`);
  out(`  the count shown ${u.totalShown === null ? 'none' : fmt(u.totalShown)} against ${fmt(u.totalInDb)} in the database${u.msToAgree === null ? ' (did not agree within 30 s of the last write)' : `, agreeing ${ms(u.msToAgree)} after the last write`}`);
  out('goals:');
  for (const g of windowsGoals(f)) out(`  ${g.met === null ? 'not measured' : g.met ? 'met        ' : 'missed     '}  ${g.goal}: ${g.value === null ? 'n/a' : Number.isInteger(g.value) ? g.value : g.value.toFixed(2)}`);
  if (o.json) out(JSON.stringify(windowsJson(f, o, { cores: os.cpus().length, loadAtStart })));
  return f;
}
