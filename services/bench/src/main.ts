// `npm run bench -- [name...] [options]`: runs the named benchmarks (all but the browser's
// `windows` when none is named) and prints their figures; `npm run bench -- live --json`
// (or `windows --json`, `scale --json`) ends with one JSON line. The full run also measures the naive
// baseline and writes docs/benchmarks.md and docs/benchmarks.svg; benchmarks time, tests never do.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@realtime/db';
import { BenchArgsError } from './args';
import { out } from './stats';
import { writes, type WritesResult } from './writes';
import { replicatorBench, type ReplicatorResult } from './replicator';
import { baselineBench } from './baseline';
import { gatewayBench, type ServerResult } from './gateway';
import { liveBench } from './live';
import { windowsBench } from './windows';
import type { WindowsFigures } from './windows-figures';
import { scaleBench } from './scale';
import type { ScaleFigures } from './scale-figures';
import { benchmarkPanels, renderSvg } from './plot';
import { renderPage, type Results } from './report';
import type { LiveResult } from './scenarios';
import { selectBenches } from './selection';

const benches = { writes, replicator: replicatorBench, gateway: gatewayBench, baseline: baselineBench, live: liveBench } as const;
type Name = keyof typeof benches;
const names = Object.keys(benches) as Name[];
/**
 * Run only when named, figures not in docs/benchmarks.md: `windows` needs chromium and the
 * built web app, `scale` redis-server and minutes of gateway processes.
 */
const byName = { windows: windowsBench, scale: scaleBench } as const;
type ByName = keyof typeof byName;
const all = { ...benches, ...byName };

// node:util parseArgs reports an unknown option or a stray value with these codes.
const isArgumentError = (err: unknown): err is Error => {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof BenchArgsError || (err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
};

const clock = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;

async function main(argv: string[]): Promise<void> {
  const selection = selectBenches(argv, names, Object.keys(byName));
  // With --json the JSON line is the last line on stdout: the closing lines go to stderr.
  const tail = selection.options.includes('--json') ? (line: string) => process.stderr.write(`${line}\n`) : out;
  const started = Date.now();
  const load = os.loadavg();
  const loadAtStart = load[0] ?? 0;
  out(`npm run bench: ${selection.benches.join(', ')}; ${os.cpus().length} cores, load average ${load.map((x) => x.toFixed(2)).join(' ')} (1, 5, 15 min)`);
  const results: Partial<Results> = {};
  const chosen = selection.benches as (Name | ByName)[];
  for (const [i, name] of chosen.entries()) {
    out(`[${i + 1}/${chosen.length}] ${name} (at ${clock(Date.now() - started)})`);
    const result = await all[name](selection.options).catch((err: unknown) => {
      if (isArgumentError(err)) err.message = `${name}: ${err.message}`;
      throw err;
    });
    (results as Record<Name | ByName, WritesResult | ReplicatorResult | ServerResult | LiveResult | WindowsFigures | ScaleFigures>)[name] = result;
    tail('');
  }
  const minutes = (Date.now() - started) / 60_000;
  tail(`done in ${clock(Date.now() - started)}`);
  if (!selection.write) {
    if (!selection.full) tail('docs/benchmarks.md not written: only a full run (npm run bench, no benchmark named) writes it.');
    return;
  }
  const full = results as Results;
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    node: process.version,
    postgres: full.writes.postgres,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    minutes,
    loadAtStart,
  };
  const docs = path.join(repoRoot, 'docs');
  const page = renderPage(full, machine, { rounds: full.live.rounds, liveSeconds: full.live.seconds, svgFile: 'benchmarks.svg' });
  await fs.writeFile(path.join(docs, 'benchmarks.svg'), renderSvg(`Ours (outbox) against the naive design: ${machine.cores} cores, ${machine.date.slice(0, 10)}`, benchmarkPanels(full)));
  await fs.writeFile(path.join(docs, 'benchmarks.md'), page);
  out('wrote docs/benchmarks.md and docs/benchmarks.svg');
}

try {
  await main(process.argv.slice(2));
  process.exit(0);
} catch (err) {
  if (!isArgumentError(err)) throw err;
  process.stderr.write(`npm run bench: ${err.message}\n`);
  process.exit(2);
}
