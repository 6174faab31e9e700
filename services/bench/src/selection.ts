// Which benchmarks a `npm run bench -- ...` command line asks for, with what options, and
// whether the run may write docs/benchmarks.md: only a full run does, so that a partial
// run never replaces measured figures with missing ones. Benchmarks `byName` only run when
// named (the browser ones: they need chromium and a built web app, and their figures are
// not in docs/benchmarks.md).
import { BenchArgsError } from './args';

export interface Selection {
  benches: string[];
  /** Options passed on to each chosen benchmark. */
  options: string[];
  full: boolean;
  write: boolean;
}

/** Options every benchmark takes, so that they are allowed when several run. */
const SHARED = new Set(['--rounds']);

export function selectBenches(argv: string[], known: readonly string[], byName: readonly string[] = []): Selection {
  const names: string[] = [];
  let i = 0;
  for (; i < argv.length && !argv[i]!.startsWith('-'); i++) {
    const name = argv[i]!;
    if (!known.includes(name) && !byName.includes(name)) throw new BenchArgsError(`unknown benchmark "${name}"; choose from: ${[...known, ...byName].join(', ')}`);
    if (!names.includes(name)) names.push(name);
  }
  const rest = argv.slice(i);
  const noWrite = rest.includes('--no-write');
  const options = rest.filter((a) => a !== '--no-write');
  const benches = names.length ? names : [...known];
  if (benches.length > 1) {
    for (let j = 0; j < options.length; j++) {
      const arg = options[j]!;
      const flag = arg.split('=')[0]!;
      if (!arg.startsWith('-')) throw new BenchArgsError(`unexpected argument "${arg}": name benchmarks first, options after them`);
      if (!SHARED.has(flag)) throw new BenchArgsError(`option "${flag}" belongs to one benchmark: name it, e.g. npm run bench -- gateway ${arg}`);
      if (!arg.includes('=')) j++;
    }
  }
  const full = known.every((n) => benches.includes(n));
  return { benches, options, full, write: full && !noWrite };
}
