// `npm run test:chaos -- [--seed N] [--seconds S] [--subscribers N] [--writers N] [--users N]`
// Writers, grants and revocations (each followed at once by a fresh socket of the revoked
// user, its first on a gateway for a user kept for that), signed-in subscribers, clients writing through the
// write queue (CHAOS_QUEUE_WRITERS) and faults against real processes on a throwaway
// Postgres, then the checker. Prints one line of counts and exits 1 on any lost,
// duplicated, out-of-order or unauthorized change, any cache that differs from the
// database, any outbox row not stamped exactly once, or any queued write not applied
// exactly as often as its queue says (once, or never when refused). The seed decides
// the fault plan, the writers' choices, the users and the subscribers; timing across
// processes is the machine's. This file wires the run; options.ts reads the command
// line, people.ts makes the users, faults.ts injects the faults, verdict.ts checks the
// outcome against truth.ts's reading of the database, report.ts formats.
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { signToken } from '@realtime/auth';
import { HEAD_SQL, loadStreamedTables, type StreamedTable } from '@realtime/db';
import { createLogger, loadEnvOrExit } from '@realtime/runtime';
import { loadChaosEnv } from './env';
import { restoreAll, runClientLane, runServerLane, type FaultContext, type FaultRecord, type Restored } from './faults';
import { again, parseOptions } from './options';
import { createLoneUser, createPinned, createQueueUsers, createUsers } from './people';
import { planFaults, planSubscribers, planUsers, type FaultKind } from './plan';
import { ChaosWindows } from './windows';
import { QueueWriters } from './queue-writers';
import { fmt, queueProgress } from './report';
import { rng } from './rng';
import { SECRET, Stack, sleep, waitFor } from './stack';
import { FreshSocket, Subscriber, type Access } from './subscriber';
import { signIn } from './users';
import { judge } from './verdict';
import { MembershipWriter, Writers } from './workload';

const env = loadEnvOrExit(() => loadChaosEnv());
const log = createLogger(env.CHAOS_LOG_LEVEL, { service: 'chaos' });
const out = (line: string) => process.stdout.write(`${line}\n`);

const PINNED = 4;

const parsed = parseOptions(process.argv.slice(2), () => Math.floor(Math.random() * 2 ** 31));
if (!parsed.ok) {
  process.stderr.write(`${parsed.message}\n`);
  process.exit(2);
}
const opts = parsed.options;
const r = rng(opts.seed);
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'realtime-chaos-'));
await fs.chmod(root, 0o755);
out(
  `chaos: seed ${opts.seed} (${again(opts, env.CHAOS_QUEUE_WRITERS, loadChaosEnv({}).CHAOS_QUEUE_WRITERS)} runs this plan again), ${opts.seconds} s, ${opts.writers} writers, ${env.CHAOS_QUEUE_WRITERS} queue writers, ${opts.subscribers} subscribers, ${opts.users} users, ${os.cpus().length} cores`,
);
out(`  logs of every process: ${path.join(root, 'logs')}`);

let stack: Stack | null = null;
let subLog: WriteStream | null = null;
let queueLog: WriteStream | null = null;
let queue: QueueWriters | null = null;
let liveWindows: ChaosWindows | null = null;
/** Live windows of pinned projects' jobs, kept by users whose memberships the run never changes. */
const WINDOWS = 4;
let failed = true;
const subscribers: Subscriber[] = [];
/** Fresh sockets opened after revocations, each listening FRESH_FOR_MS; at most FRESH_AT_ONCE at a time. */
const fresh: { probe: FreshSocket; running: boolean; done: Promise<void> }[] = [];
const FRESH_FOR_MS = 3000;
const FRESH_AT_ONCE = 4;
let catalog = new Map<string, StreamedTable>();
let restored: Restored | null = null;
try {
  stack = await Stack.start(root, log, { redis: opts.redis });
  const s = stack;
  // Each channel's project column, from the catalog, as the gateways judge grants by it.
  catalog = await loadStreamedTables({ query: async (text: string) => ({ rows: await s.query(text) }) });
  const gatewayUrl = (i: number) => `http://127.0.0.1:${s.gateways[i]!.port}`;
  const people = await createUsers(s, opts.users);
  const userPlans = planUsers(r.fork(7), opts.users, PINNED);
  const pinned = await createPinned(s, people.ids, userPlans, PINNED);
  const durationMs = opts.seconds * 1000;
  const plan = planFaults(r.fork(1), durationMs, opts.redis);
  const notes = createWriteStream(path.join(root, 'logs', 'subscribers.log'), { flags: 'a' });
  subLog = notes;
  // Good past the run and its settling: the service path is about grants, not expiry.
  const service = await signToken(new TextEncoder().encode(SECRET), { channels: ['*'], projects: ['*'] }, { ttlSeconds: opts.seconds + 3600 });
  for (const spec of planSubscribers(r.fork(2), opts.subscribers, pinned, durationMs, s.gateways.length, userPlans)) {
    const access: Access =
      spec.user === null ? { kind: 'service', token: service } : { kind: 'user', userId: people.ids[spec.user]!, email: people.emails[spec.user]!, password: people.password };
    subscribers.push(new Subscriber(spec, gatewayUrl(spec.gateway), access, catalog.get(spec.channel)?.projectColumn ?? null, (line) => notes.write(`${new Date().toISOString()} subscriber ${spec.index}: ${line}\n`)));
  }
  out(`  stack up: Postgres, 2 replicators, ${s.gateways.length} gateways, ${s.redis ? `the change log on redis-server (${s.redis.url})` : 'no change log (--no-redis)'}; ${opts.users} users with ${userPlans.reduce((n, u) => n + u.memberships.length, 0)} memberships of the ${PINNED} pinned projects; plan: ${plan.server.map((f) => f.kind).join(', ')}; ${plan.client.length} client faults`);

  const queueNotes = createWriteStream(path.join(root, 'logs', 'queue-writers.log'), { flags: 'a' });
  queueLog = queueNotes;
  const queueUsers = await createQueueUsers(s, people, pinned, env.CHAOS_QUEUE_WRITERS);
  const gatewayUrls = s.gateways.map((_, i) => gatewayUrl(i));
  const qw = new QueueWriters(
    queueUsers.map((email, index) => ({ index: index + 1, email, password: people.password, gateways: gatewayUrls, pinned })),
    r.fork(8),
    log,
    (line) => queueNotes.write(`${new Date().toISOString()} ${line}\n`),
  );
  queue = qw;
  // The stream confirms the queues' writes, as an app's live lists hand their batches to its queue.
  for (const sub of subscribers) sub.onTxids = (txids) => qw.confirmTxids(txids);
  await qw.start();
  const windows = new ChaosWindows(s, WINDOWS, pinned, gatewayUrl, s.gateways.length, r.fork(9), (line) => notes.write(`${new Date().toISOString()} ${line}\n`));
  liveWindows = windows;
  await windows.start(people.password, people.emails[0]!);

  const writers = new Writers(s.url, r.fork(3), opts.writers, pinned, log, people.ids);
  // A user with no subscribers of their own, granted and revoked like the others: a fresh
  // socket of theirs after a revocation is their first on its gateway, whose membership
  // the gateway reads while the revocation may still be on its way to the outbox.
  const lone = await createLoneUser(s, people, pinned);
  const loneCookie = await signIn(gatewayUrl(0), lone.email, people.password);
  const openFresh = (userId: string, projectId: string) => {
    if (fresh.filter((f) => f.running).length >= FRESH_AT_ONCE) return;
    const cookie = userId === lone.id ? loneCookie : subscribers.find((x) => x.userId === userId && x.session)?.session;
    if (!cookie) return;
    const gateway = fresh.length % s.gateways.length;
    const probe = new FreshSocket(userId, { projectId }, gatewayUrl(gateway), cookie, 'extraction_jobs', catalog.get('extraction_jobs')?.projectColumn ?? null, (line) => notes.write(`${new Date().toISOString()} ${line}\n`), () => (restored ? 1 : 0));
    const entry = { probe, running: true, done: Promise.resolve() };
    entry.done = probe.run(FRESH_FOR_MS).catch((err: Error) => {
      probe.cut = `failed: ${err.message}`;
    }).finally(() => {
      entry.running = false;
    });
    fresh.push(entry);
  };
  const members = new MembershipWriter(s.url, r.fork(6), [...people.ids, lone.id], pinned, log, openFresh);
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
  members.start();
  const ctx: FaultContext = { stack: s, catalog, subscribers, lane: { writers, members, queue: qw }, restored: (x) => (restored = x) };
  const serverLane = runServerLane(ctx, plan.server, r.fork(4), elapsed, record);
  const clientLane = runClientLane(s, plan.client, subscribers, pinned, r.fork(5), elapsed, record);
  // Awaited later; a lane or a join that fails before then must still end the run through
  // the finally below (which stops every process), not as an unhandled rejection.
  for (const task of [serverLane, clientLane, ...joins]) task.catch(() => undefined);
  const progress = setInterval(() => {
    void s
      .query<{ n: string; head: string | null }>(`SELECT count(*) AS n, ${HEAD_SQL} AS head FROM change_outbox`)
      .then(([row]) => out(`  ${at()} outbox ${fmt(Number(row!.n))} rows, head seq ${fmt(Number(row!.head ?? 0))}; ${writers.stats.committed} transactions, ${members.stats.grants + members.stats.revocations + members.stats.roleChanges} membership changes, ${queueProgress(qw)}; ${subscribers.filter((x) => x.isLive).length}/${subscribers.length} subscribers live (${subscribers.filter((x) => x.refused).length} refused, ${subscribers.filter((x) => x.joined && !x.socket!.connected).length} offline); ${faults.length} faults`))
      .catch(() => out(`  ${at()} (database unreachable)`));
  }, 10_000);
  // The run lasts its time whatever the joins cost (sign-ins wait their turn past ten a
  // minute per account and address).
  await sleep(Math.max(0, durationMs - elapsed()));
  await writers.stop();
  await members.stop();
  await windows.stopLoading();
  await Promise.all(fresh.map((f) => f.done));
  await qw.stop();
  await serverLane;
  await clientLane;
  await Promise.all(joins);
  clearInterval(progress);
  out(`  ${at()} writers stopped (${fmt(writers.stats.committed)} committed, ${fmt(writers.stats.rolledBack)} rolled back, ${fmt(writers.stats.failed)} failed on a fault; ${fmt(writers.stats.rekeyed)} primary keys changed); settling`);

  await restoreAll(s);
  // On a healthy network now, every queue must get what it holds through.
  const drainStart = Date.now();
  const drained = await qw.drain(60_000);
  if (qw.writers.length) out(`  queue writers ${drained ? 'drained' : 'not drained within 60 s'} after ${((Date.now() - drainStart) / 1000).toFixed(1)} s (${queueProgress(qw)})`);
  await waitFor('every outbox row to be stamped', async () => Number((await s.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox WHERE seq IS NULL`))[0]!.n) === 0, 120_000, 250);
  await windows.settle();
  failed = await judge({ stack: s, catalog, subscribers, fresh, restored, people, lone, queue: qw, members, windows, faults, options: opts, out });
  out(failed ? 'chaos: FAILED' : 'chaos: passed');
} catch (err) {
  out(`chaos: FAILED: ${(err as Error).stack ?? String(err)}`);
  failed = true;
} finally {
  for (const sub of subscribers) sub.close();
  await queue?.close();
  liveWindows?.stop();
  subLog?.end();
  queueLog?.end();
  await stack?.stop().catch((err: Error) => out(`  stopping the stack: ${err.message}`));
  if (failed || opts.keep) out(`  logs kept in ${path.join(root, 'logs')}`);
  else await fs.rm(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

