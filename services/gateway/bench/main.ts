// `npm run bench -- <name...>`: runs the named benchmarks (all when none is named) and
// prints their figures. Benchmarks measure side by side in one run; tests never time.
import { writes } from '../../../db/bench/writes';
import { replicatorBench } from '../../replicator/bench/replicator';
import { baselineBench } from './baseline';
import { gatewayBench } from './gateway';

const benches: Record<string, (args: string[]) => Promise<unknown>> = { writes, replicator: replicatorBench, gateway: gatewayBench, baseline: baselineBench };

const [name, ...rest] = process.argv.slice(2);
const chosen = name && !name.startsWith('-') ? [name] : Object.keys(benches);
for (const n of chosen) {
  const bench = benches[n];
  if (!bench) {
    process.stderr.write(`unknown benchmark "${n}"; choose from: ${Object.keys(benches).join(', ')}\n`);
    process.exit(2);
  }
  await bench(name === n ? rest : []);
  process.stdout.write('\n');
}
process.exit(0);
