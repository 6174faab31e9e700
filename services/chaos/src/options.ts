// The chaos test's command line: what decides a plan (seed, length, how many of each),
// parsed without exiting so that a table can test it, and the line that runs a plan again.
import { parseArgs } from 'node:util';

export const usage =
  'usage: npm run test:chaos -- [--seed N] [--seconds S (60..3600, default 150)] [--subscribers N (default 24)] [--writers N (default 4)] [--users N (default 5)] [--no-redis] [--keep]';

export const defaults = { seconds: 150, subscribers: 24, writers: 4, users: 5 };

export interface ChaosOptions {
  seed: number;
  seconds: number;
  subscribers: number;
  writers: number;
  users: number;
  /** The shared change log on Redis, with its faults (--no-redis: the Postgres feed alone, as `npm start` runs). */
  redis: boolean;
  /** Keep the logs of a passing run too. */
  keep: boolean;
}

/** The options, or the message that says what is wrong with the command line. */
export function parseOptions(args: string[], randomSeed: () => number): { ok: true; options: ChaosOptions } | { ok: false; message: string } {
  let values: { seed?: string; seconds?: string; subscribers?: string; writers?: string; users?: string; 'no-redis'?: boolean; keep?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        seed: { type: 'string' },
        seconds: { type: 'string', default: String(defaults.seconds) },
        subscribers: { type: 'string', default: String(defaults.subscribers) },
        writers: { type: 'string', default: String(defaults.writers) },
        users: { type: 'string', default: String(defaults.users) },
        'no-redis': { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    return { ok: false, message: `${(err as Error).message}\n${usage}` };
  }
  const problems: string[] = [];
  const num = (name: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`--${name} must be a whole number from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const options: ChaosOptions = {
    seed: values.seed === undefined ? randomSeed() : num('seed', values.seed, 0, 2 ** 32 - 1),
    seconds: num('seconds', values.seconds, 60, 3600),
    subscribers: num('subscribers', values.subscribers, 1, 500),
    writers: num('writers', values.writers, 1, 32),
    users: num('users', values.users, 1, 50),
    redis: !(values['no-redis'] ?? false),
    keep: values.keep ?? false,
  };
  return problems.length ? { ok: false, message: problems[0]! } : { ok: true, options };
}

/**
 * The command line that runs the same plan again: the options that decide it (defaults
 * left out), and CHAOS_QUEUE_WRITERS when it is not its default.
 */
export function again(o: ChaosOptions, queueWriters: number, defaultQueueWriters: number): string {
  const extra = (['subscribers', 'writers', 'users'] as const).filter((k) => o[k] !== defaults[k]).map((k) => ` --${k} ${o[k]}`);
  const queue = queueWriters === defaultQueueWriters ? '' : `CHAOS_QUEUE_WRITERS=${queueWriters} `;
  return `${queue}npm run test:chaos -- --seed ${o.seed} --seconds ${o.seconds}${extra.join('')}${o.redis ? '' : ' --no-redis'}`;
}
