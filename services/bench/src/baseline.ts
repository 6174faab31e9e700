// The naive design's gateway-side figures, measured exactly as ours are: a database of
// the same schema whose five tables carry the whole-row pg_notify trigger instead of the
// outbox's, and NaiveServer broadcasting what its one listener hears. (Its write figures
// come from the writes bench, its live latency from the live bench, where it alternates
// with ours.)
import os from 'node:os';
import { out } from './stats';
import { serverFigures, serverOptions, type ServerResult } from './gateway';
import { startNaive } from './servers';

export async function baselineBench(argv: string[]): Promise<ServerResult> {
  const { rounds } = serverOptions(argv);
  const naive = await startNaive();
  try {
    out(`baseline: whole row through pg_notify, one listener broadcasting to Socket.IO; a client away ~1 s, a 9,000-byte row; ${rounds} rounds; ${os.cpus().length} cores`);
    const result = await serverFigures(naive.url, naive.port, naive.token, rounds);
    out('');
    out(`  changes missed by a client away ~1 s: ${result.loss.missed} of ${result.loss.written} (median); replay: none`);
    return result;
  } finally {
    await naive.stop();
  }
}
