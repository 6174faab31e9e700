// `npm run test:chaos -- [--seed N] [--seconds S] [--subscribers N] [--writers N]`
// Writers, subscribers and faults against real processes on a throwaway Postgres, then
// the checker. Prints one line of counts and exits 1 on any lost, duplicated or
// out-of-order change, any cache that differs from the database, or any outbox row not
// stamped exactly once. The seed decides the fault plan, the writers' choices and the
// subscribers; timing across processes is the machine's.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, loadEnvOrExit } from '@realtime/db';
import { loadChaosEnv } from './env';
import { addFindings, checkDelivery, checkOutbox, compareCache, noFindings, type Findings } from './checker';
import { clientFaults, countByKind, planFaults, planSubscribers, serverFaults, type FaultKind, type PlannedFault, type ServerFault } from './plan';
import { rng, type Rng } from './rng';
import { REPLICATOR_ROLE, Stack, sleep, waitFor, type Proc } from './stack';
import { Subscriber, fetchList, type Epoch } from './subscriber';
import { Writers, burst, tables } from './workload';

const log = createLogger(loadEnvOrExit(() => loadChaosEnv()).CHAOS_LOG_LEVEL, { service: 'chaos' });
const out = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => n.toLocaleString('en-US');

const usage = 'usage: npm run test:chaos -- [--seed N] [--seconds S (60..3600, default 150)] [--subscribers N (default 24)] [--writers N (default 4)] [--keep]';

function options() {
  let values: { seed?: string; seconds?: string; subscribers?: string; writers?: string; keep?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string' },
        seconds: { type: 'string', default: '150' },
        subscribers: { type: 'string', default: '24' },
        writers: { type: 'string', default: '4' },
        keep: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  const num = (name: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`--${name} must be a whole number from ${min} to ${max}, got "${v}"\n`);
      process.exit(2);
    }
    return n;
  };
  return {
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : num('seed', values.seed, 0, 2 ** 32 - 1),
    seconds: num('seconds', values.seconds, 60, 3600),
    subscribers: num('subscribers', values.subscribers, 1, 500),
    writers: num('writers', values.writers, 1, 32),
    keep: values.keep ?? false,
  };
}

interface FaultRecord {
  kind: FaultKind;
  at: number;
  detail: string;
}

const opts = options();
const r = rng(opts.seed);
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-chaos-'));
await fs.chmod(root, 0o755);
out(`chaos: seed ${opts.seed} (npm run test:chaos -- --seed ${opts.seed} --seconds ${opts.seconds} runs this plan again), ${opts.seconds} s, ${opts.writers} writers, ${opts.subscribers} subscribers, ${os.cpus().length} cores`);
out(`  logs of every process: ${path.join(root, 'logs')}`);

let stack: Stack | null = null;
let failed = true;
const subscribers: Subscriber[] = [];
try {
  stack = await Stack.start(root, log);
  const s = stack;
  const gatewayUrl = (i: number) => `http://127.0.0.1:${s.gateways[i]!.port}`;
  const pinned = (await s.query<{ id: string }>(`INSERT INTO projects (name) SELECT 'pinned ' || g FROM generate_series(1, 4) g RETURNING id`)).map((row) => row.id);
  const token = ((await (await fetch(`${gatewayUrl(0)}/api/realtime/token`)).json()) as { token: string }).token;
  const durationMs = opts.seconds * 1000;
  const plan = planFaults(r.fork(1), durationMs);
  for (const spec of planSubscribers(r.fork(2), opts.subscribers, pinned, durationMs, s.gateways.length)) subscribers.push(new Subscriber(spec, gatewayUrl(spec.gateway), token));
  out(`  stack up: Postgres, 2 replicators, 2 gateways; plan: ${plan.server.map((f) => f.kind).join(', ')}; ${plan.client.length} client faults`);

  const writers = new Writers(s.url, r.fork(3), opts.writers, pinned, log);
  const faults: FaultRecord[] = [];
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const at = () => `t=${(elapsed() / 1000).toFixed(1)}s`;
  const record = (kind: FaultKind, detail: string) => {
    faults.push({ kind, at: elapsed(), detail });
    if (kind !== 'client-disconnect') out(`  ${at()} ${kind}: ${detail}`);
  };

  const joins = subscribers.map(async (sub) => {
    await sleep(sub.spec.joinAt);
    await sub.join();
  });
  writers.start();
  const serverLane = runServerLane(s, plan.server, r.fork(4), elapsed, record);
  const clientLane = runClientLane(s, plan.client, subscribers, pinned[0]!, r.fork(5), elapsed, record);
  const progress = setInterval(() => {
    void s
      .query<{ n: string; head: string | null }>(`SELECT count(*) AS n, (SELECT max(seq) FROM change_outbox) AS head FROM change_outbox`)
      .then(([row]) => out(`  ${at()} outbox ${fmt(Number(row!.n))} rows, head seq ${fmt(Number(row!.head ?? 0))}; ${writers.stats.committed} transactions; ${subscribers.filter((x) => x.isLive).length}/${subscribers.length} subscribers live; ${faults.length} faults`))
      .catch(() => out(`  ${at()} (database unreachable)`));
  }, 10_000);
  await Promise.all(joins);
  await sleep(Math.max(0, durationMs - elapsed()));
  await writers.stop();
  await serverLane;
  await clientLane;
  clearInterval(progress);
  out(`  ${at()} writers stopped (${fmt(writers.stats.committed)} committed, ${fmt(writers.stats.rolledBack)} rolled back, ${fmt(writers.stats.failed)} failed on a fault); settling`);

  await restoreAll(s);
  await waitFor('every outbox row to be stamped', async () => Number((await s.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox WHERE seq IS NULL`))[0]!.n) === 0, 120_000, 250);
  const expected = async (sub: Subscriber, e: Epoch) => expectedSeqs(s, sub, e);
  await waitFor(
    'every subscriber to catch up',
    async () => {
      for (const sub of subscribers) {
        if (!sub.isLive) return false;
        const want = await expected(sub, sub.current!);
        const last = want.at(-1);
        if (last !== undefined && (sub.current!.received.at(-1) ?? 0) < last) return false;
      }
      return true;
    },
    90_000,
    500,
  ).catch((err: Error) => out(`  ${err.message}: the checker counts what is missing`));

  // The checker.
  let delivery: Findings = noFindings();
  let epochs = 0;
  let delivered = 0;
  for (const sub of subscribers) {
    for (const [i, e] of sub.epochs.entries()) {
      const complete = i === sub.epochs.length - 1 && e.endedBy === null;
      delivery = addFindings(delivery, checkDelivery(e.received, await expected(sub, e), complete, `${sub.label}, epoch ${i + 1}`));
      epochs++;
      delivered += e.received.length;
    }
  }
  const cache = { missing: 0, extra: 0, differing: 0, first: null as string | null };
  for (const sub of subscribers) {
    const fresh = await fetchList(gatewayUrl(sub.spec.gateway), sub.spec.channel, sub.spec.filter);
    const d = compareCache(sub.list.items, fresh.items, sub.label);
    cache.missing += d.missing;
    cache.extra += d.extra;
    cache.differing += d.differing;
    cache.first ??= d.first;
  }
  const [facts] = await s.query<{ rows: number; stamped: number; distinct: number; min: number | null; max: number | null }>(
    `SELECT count(*)::int AS rows, count(seq)::int AS stamped, count(DISTINCT seq)::int AS distinct, min(seq)::int AS min, max(seq)::int AS max FROM change_outbox`,
  );
  const outboxProblems = checkOutbox(facts!);
  const replayMismatch = await outboxReplaysToTables(s);
  const strays = subscribers.reduce((n, x) => n + x.strays, 0);
  const errors = subscribers.flatMap((x) => x.subscribeErrors.map((e) => `${x.label}: ${e}`));
  const resyncs = subscribers.reduce((n, x) => n + x.resyncs, 0);
  const refusals = subscribers.reduce((n, x) => n + x.refusals, 0);

  const counts = countByKind(faults);
  const faultText = [...serverFaults, ...clientFaults].map((k) => `${k} ${counts[k]}`).join(', ');
  const cacheBad = cache.missing + cache.extra + cache.differing;
  out('');
  out(
    `chaos seed ${opts.seed}: ${fmt(facts!.rows)} changes, ${fmt(delivered)} deliveries to ${subscribers.length} subscribers (${epochs} subscriptions, ${resyncs} resyncs, ${refusals} subscribes refused and retried); ` +
      `faults: ${faultText}; lost ${delivery.lost}, duplicated ${delivery.duplicated}, out of order ${delivery.outOfOrder}, unexpected ${delivery.unexpected}, ` +
      `caches differing ${cacheBad}, outbox ${outboxProblems.length ? outboxProblems.join('; ') : `stamped once 1..${fmt(facts!.max ?? 0)}`}, outbox vs tables ${replayMismatch} mismatched`,
  );
  for (const line of [delivery.first, cache.first, ...errors.slice(0, 5), strays ? `${strays} events for a subscription id the subscriber did not hold` : null]) if (line) out(`  first problem: ${line}`);
  failed = delivery.lost + delivery.duplicated + delivery.outOfOrder + delivery.unexpected + cacheBad + outboxProblems.length + replayMismatch + strays + errors.length > 0;
  const missingKinds = serverFaults.filter((k) => counts[k] === 0);
  if (missingKinds.length) {
    out(`  not injected: ${missingKinds.join(', ')} (a run of ${opts.seconds} s has room for fewer faults; give more --seconds)`);
    failed = true;
  }
  out(failed ? 'chaos: FAILED' : 'chaos: passed');
} catch (err) {
  out(`chaos: FAILED: ${(err as Error).stack ?? String(err)}`);
  failed = true;
} finally {
  for (const sub of subscribers) sub.close();
  await stack?.stop().catch((err: Error) => out(`  stopping the stack: ${err.message}`));
  if (failed || opts.keep) out(`  logs kept in ${path.join(root, 'logs')}`);
  else await fs.rm(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/** What a subscriber's epoch should receive: matching outbox rows after its start, in seq order. */
async function expectedSeqs(s: Stack, sub: Subscriber, e: Epoch): Promise<number[]> {
  const params: unknown[] = [sub.spec.channel];
  let after: string;
  if ('since' in e.start) {
    params.push(e.start.since);
    after = `seq > $2`;
  } else {
    const c = JSON.parse(Buffer.from(e.start.cursor, 'base64url').toString('utf8')) as { h: number; s: string };
    params.push(c.h, c.s);
    after = `seq > $2 AND NOT pg_visible_in_snapshot(txid, $3::pg_snapshot)`;
  }
  const side = (col: 'old_row' | 'new_row') =>
    Object.keys(sub.spec.filter).length === 0
      ? 'true'
      : Object.entries(sub.spec.filter)
          .map(([k, v]) => {
            params.push(k, v);
            return `${col}->>$${params.length - 1} = $${params.length}`;
          })
          .join(' AND ');
  const match = `((op <> 'INSERT' AND ${side('old_row')}) OR (op <> 'DELETE' AND ${side('new_row')}))`;
  const rows = await s.query<{ seq: string }>(`SELECT seq FROM change_outbox WHERE table_name = $1 AND seq IS NOT NULL AND ${after} AND ${match} ORDER BY seq`, params);
  return rows.map((row) => Number(row.seq));
}

/** Atomic capture: the last outbox image of every row is the row in its table, and deleted rows are gone. */
async function outboxReplaysToTables(s: Stack): Promise<number> {
  let mismatched = 0;
  for (const t of tables) {
    const [row] = await s.query<{ n: number }>(
      `WITH last AS (SELECT DISTINCT ON (row_id) row_id, op, new_row FROM change_outbox WHERE table_name = $1 ORDER BY row_id, seq DESC)
       SELECT count(*)::int AS n FROM (SELECT row_id, new_row FROM last WHERE op <> 'DELETE') a
       FULL JOIN (SELECT id::text AS row_id, to_jsonb(x) AS cur FROM ${t} x) b USING (row_id)
       WHERE a.new_row IS DISTINCT FROM b.cur`,
      [t],
    );
    mismatched += row!.n;
  }
  return mismatched;
}

async function runServerLane(s: Stack, faults: PlannedFault<ServerFault>[], r: Rng, elapsed: () => number, record: (k: FaultKind, d: string) => void): Promise<void> {
  for (const f of faults) {
    await sleep(Math.max(0, f.at - elapsed()));
    try {
      record(f.kind, await inject(s, f.kind, r));
    } catch (err) {
      throw new Error(`${f.kind} at t=${(elapsed() / 1000).toFixed(1)}s: ${(err as Error).message}`);
    }
    await restoreAll(s);
  }
}

async function runClientLane(s: Stack, faults: PlannedFault[], subs: Subscriber[], burstRow: string, r: Rng, elapsed: () => number, record: (k: FaultKind, d: string) => void): Promise<void> {
  for (const f of faults) {
    await sleep(Math.max(0, f.at - elapsed()));
    const joined = subs.filter((x) => x.joined);
    if (!joined.length) continue;
    if (f.kind === 'client-disconnect') {
      const sub = r.pick(joined);
      const ms = r.int(100, 4000);
      if (sub.dropFor(ms)) record(f.kind, `${sub.label} for ${ms} ms`);
      continue;
    }
    // A stalled reader of every project, while megabytes of project rows go by: once the
    // kernel's buffers are full, the gateway's queue for it passes its bound.
    const readers = joined.filter((x) => x.spec.channel === 'projects' && Object.keys(x.spec.filter).length === 0);
    const sub = r.pick(readers.length ? readers : joined);
    const ms = r.int(3000, 8000);
    if (!sub.reconnectStalled(ms)) continue;
    const bytes = await burst(s.url, burstRow, 200, 50_000).catch(() => 0);
    record(f.kind, `${sub.label} stalled for ${ms} ms under ${fmt(Math.round(bytes / 1e6))} MB of updates`);
  }
}

async function inject(s: Stack, kind: ServerFault, r: Rng): Promise<string> {
  const t0 = Date.now();
  const took = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  switch (kind) {
    case 'replicator-kill': {
      const leader = await s.waitForLeader();
      const pid = leader.pid;
      await leader.stop('SIGKILL');
      const next = await s.waitForLeader();
      const detail = `SIGKILL to the leader ${leader.name} (pid ${pid}); ${next.name} leads after ${took()}`;
      await sleep(r.int(200, 2000));
      leader.start();
      return detail;
    }
    case 'standby-takeover': {
      const leader = await s.waitForLeader();
      await leader.stop('SIGTERM');
      const next = await s.waitForLeader();
      leader.start();
      return `SIGTERM to the leader ${leader.name}; the standby ${next.name} took over after ${took()}`;
    }
    case 'gateway-restart': {
      const g: Proc = r.pick(s.gateways);
      const signal = r.chance(0.5) ? 'SIGKILL' : 'SIGTERM';
      await g.stop(signal);
      await sleep(r.int(200, 2000));
      g.start();
      await s.waitForGateway(g);
      return `${signal} to ${g.name}, back after ${took()}`;
    }
    case 'mode-switch': {
      await s.query(`ALTER ROLE ${REPLICATOR_ROLE} NOREPLICATION`);
      await s.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL`);
      await waitFor('NOTIFY mode', async () => (await s.mode()) === 'notify', 30_000, 100);
      const inNotify = took();
      await sleep(r.int(2000, 6000));
      await s.query(`ALTER ROLE ${REPLICATOR_ROLE} REPLICATION`);
      await waitFor('WAL mode again', async () => (await s.mode()) === 'wal', 60_000, 100);
      return `REPLICATION taken from the replicators' role: NOTIFY mode after ${inNotify}, WAL again (role restored) after ${took()}`;
    }
    case 'postgres-restart': {
      await s.restartPostgres(r.int(500, 2000));
      await s.waitForLeader();
      return `stopped and started again; a replicator leads after ${took()}`;
    }
  }
}

/** Back to full strength between faults: both replicators and gateways up, WAL allowed. */
async function restoreAll(s: Stack): Promise<void> {
  await s.query(`ALTER ROLE ${REPLICATOR_ROLE} REPLICATION`);
  for (const p of [...s.replicators, ...s.gateways]) if (!p.running) p.start();
  await s.waitForLeader();
  await Promise.all(s.gateways.map((g) => s.waitForGateway(g)));
}
