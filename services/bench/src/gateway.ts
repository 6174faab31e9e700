// Gateway figures on a throwaway cluster with the real replicator and gateway: what a
// client away for a second misses, and a row over NOTIFY's 8000-byte limit. (Live
// latency, fan-out and replay, against the baseline in alternating rounds: live.ts.)
import os from 'node:os';
import { parseArgs } from 'node:util';
import { positiveInts } from './args';
import { out } from './stats';
import { lossRounds, oversizeRow, type Loss, type Oversize } from './measure';
import { startOurs } from './servers';

/** The option both of these benches take, checked once. */
export function serverOptions(argv: string[]): { rounds: number } {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string', default: '3' } } });
  return positiveInts({ rounds: values.rounds });
}

/** The figures of one design's server; medians over the rounds. */
export interface ServerResult {
  loss: Loss;
  oversize: Oversize;
  rounds: number;
}

export async function gatewayBench(argv: string[]): Promise<ServerResult> {
  const { rounds } = serverOptions(argv);
  const ours = await startOurs();
  try {
    out(`gateway: a client away ~1 s, a 9,000-byte row; ${rounds} rounds; replicator linger 1 ms; ${os.cpus().length} cores`);
    const measured = await serverFigures(ours.url, ours.port, ours.token, rounds);
    out('');
    out(`  changes missed by a client away ~1 s: ${measured.loss.missed} of ${measured.loss.written} (goal 0: ${measured.loss.missed === 0 ? 'met' : 'missed'})`);
    return measured;
  } finally {
    await ours.stop();
  }
}

/** The figures measured the same way for our gateway and the baseline's listener. */
export async function serverFigures(url: string, port: number, token: string, rounds: number): Promise<ServerResult> {
  const loss = await lossRounds(url, port, token, rounds);
  const oversize = await oversizeRow(url, port, token);
  out(`  a 9,000-byte row: ${oversize.committed ? 'committed' : `write failed (${oversize.error})`}, ${oversize.delivered ? `delivered in ${oversize.ms} ms` : 'not delivered'}`);
  return { loss, oversize, rounds };
}
