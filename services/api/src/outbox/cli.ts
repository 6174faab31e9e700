// `npm run outbox -- <command>`: the operator's view of the change outbox. Tables for
// people, --json (one object per line) for scripts. Exit codes: 0 done, 1 failed,
// 2 bad usage, 3 `stats` found something to warn about.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import pg from 'pg';
import { openDatabase } from '@realtime/db';
import { createLogger, describeError } from '@realtime/runtime';
import { loadApiToolEnv } from '../env';
import { exportAll, history, list, outTo, planPrune, printStats, prune, stats, tail } from './commands';
import { parseDuration } from './parse';

const USAGE = `usage: npm run outbox -- <command> [options]

  stats                       mode, head seq, backlog, slot lag, retention floor, clients
  list [filters]              changes, newest first
        --table T --op INSERT|UPDATE|DELETE --row ID --actor A
        --from-seq N --to-seq N --since 1h|ISO --until ISO --limit 50 --before ID (the next page's position, printed)
  tail [--table T] [--from-seq N] [--count N]     follow new changes (Ctrl-C to stop)
  history <table> <id>        every change of one row, oldest first, with what changed
  export [--table T] [--from-seq N] [--to-seq N]  every change as NDJSON on stdout
  prune --older-than 30d | --below-seq N [--yes]  dry run unless --yes; never unstamped rows

  --json                      one JSON object per line`;

class UsageError extends Error {}

const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got "${v}"`);
  return Number(v);
};
const time = (name: string, v: string | undefined): Date | undefined => {
  if (v === undefined) return undefined;
  if (/^\d+\s*[smhdw]$/.test(v)) return new Date(Date.now() - parseDuration(v));
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name} must be a duration (1h, 30d) or an ISO time, got "${v}"`);
  return d;
};

function parse(args: string[], options: ParseArgsConfig['options'], positionals = 0) {
  try {
    const r = parseArgs({ args, options: { json: { type: 'boolean' }, ...options }, allowPositionals: positionals > 0, strict: true });
    if (r.positionals.length !== positionals) throw new UsageError(`expected ${positionals} argument(s), got ${r.positionals.length}`);
    return r as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const known = ['stats', 'list', 'tail', 'history', 'export', 'prune'];
  if (!known.includes(command)) throw new UsageError(`unknown command "${command}"`);
  const s = (o: Record<string, unknown>, k: string) => o[k] as string | undefined;
  if (command === 'list' && rest.some((a) => a === '--offset' || a.startsWith('--offset='))) throw new UsageError('--offset is no longer supported: page with --before <the last id printed>');
  // Check the arguments before reaching for the database.
  const opts =
    command === 'stats'
      ? parse(rest, {})
      : command === 'list'
        ? parse(rest, { table: { type: 'string' }, op: { type: 'string' }, row: { type: 'string' }, actor: { type: 'string' }, 'from-seq': { type: 'string' }, 'to-seq': { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } })
        : command === 'tail'
          ? parse(rest, { table: { type: 'string' }, 'from-seq': { type: 'string' }, count: { type: 'string' } })
          : command === 'history'
            ? parse(rest, {}, 2)
            : command === 'export'
              ? parse(rest, { table: { type: 'string' }, 'from-seq': { type: 'string' }, 'to-seq': { type: 'string' } })
              : parse(rest, { 'older-than': { type: 'string' }, 'below-seq': { type: 'string' }, yes: { type: 'boolean' } });
  const v = opts.values;
  const json = Boolean(v.json);
  const op = s(v, 'op');
  if (op !== undefined && !['INSERT', 'UPDATE', 'DELETE'].includes(op)) throw new UsageError(`--op must be INSERT, UPDATE or DELETE, got "${op}"`);
  const limit = int('limit', s(v, 'limit')) ?? 50;
  if (command === 'list' && (limit < 1 || limit > 10_000)) throw new UsageError('--limit must be between 1 and 10000');
  if (command === 'prune' && (s(v, 'older-than') === undefined) === (s(v, 'below-seq') === undefined)) throw new UsageError('prune needs exactly one of --older-than or --below-seq');
  const olderThanMs = s(v, 'older-than') === undefined ? undefined : (() => {
    try {
      return parseDuration(s(v, 'older-than')!);
    } catch (err) {
      throw new UsageError(`--older-than: ${(err as Error).message}`);
    }
  })();

  const env = loadApiToolEnv();
  const log = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, { service: 'outbox-cli' }, { format: env.LOG_FORMAT });
  const db = await openDatabase(env, log);
  const pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'realtime-outbox-cli' });
  const out = outTo(process.stdout);
  try {
    switch (command) {
      case 'stats': {
        const st = await stats(pool, { gatewayUrls: env.GATEWAY_URLS, lagWarnBytes: env.SLOT_LAG_WARN_BYTES, backlogWarnSeconds: env.BACKLOG_WARN_SECONDS });
        await printStats(out, st, json);
        return st.warnings.length ? 3 : 0;
      }
      case 'list':
        await list(pool, out, {
          table: s(v, 'table'),
          op: op as 'INSERT' | undefined,
          rowId: s(v, 'row'),
          actor: s(v, 'actor'),
          fromSeq: int('from-seq', s(v, 'from-seq')),
          toSeq: int('to-seq', s(v, 'to-seq')),
          since: time('since', s(v, 'since')),
          until: time('until', s(v, 'until')),
          limit,
          before: int('before', s(v, 'before')),
        }, env.OUTBOX_PAGE_BYTES, json);
        return 0;
      case 'tail': {
        const ctl = new AbortController();
        process.once('SIGINT', () => ctl.abort());
        await tail(pool, out, { table: s(v, 'table'), fromSeq: int('from-seq', s(v, 'from-seq')), count: int('count', s(v, 'count')), json, signal: ctl.signal });
        return 0;
      }
      case 'history':
        await history(pool, out, opts.positionals[0]!, opts.positionals[1]!, json);
        return 0;
      case 'export': {
        const n = await exportAll(pool, out, { table: s(v, 'table'), fromSeq: int('from-seq', s(v, 'from-seq')), toSeq: int('to-seq', s(v, 'to-seq')) });
        process.stderr.write(`exported ${n} change(s)\n`);
        return 0;
      }
      case 'prune': {
        const plan = await planPrune(pool, { belowSeq: int('below-seq', s(v, 'below-seq')), olderThanMs });
        if (!v.yes) {
          await out.line(json ? JSON.stringify({ dryRun: true, ...plan }) : plan.count ? `would delete ${plan.count} change(s), seq ${plan.fromSeq}..${plan.toSeq}; the retention floor would become ${plan.toSeq}. Run again with --yes to delete.` : 'nothing to delete');
          return 0;
        }
        const deleted = await prune(pool, plan);
        await out.line(json ? JSON.stringify({ dryRun: false, deleted, floor: plan.toSeq }) : `deleted ${deleted} change(s); clients behind seq ${plan.toSeq ?? 0} will be told to resync`);
        return 0;
      }
    }
    return 0;
  } finally {
    await pool.end();
    await db.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(describeError(err));
    process.exit(1);
  },
);
