// `npm run test:chaos -- [--seed N] [--seconds S] [--subscribers N] [--writers N] [--users N]`
// Writers, grants and revocations (each followed at once by a fresh socket of the revoked
// user, its first on a gateway for a user kept for that), signed-in subscribers, clients writing through the
// write queue (CHAOS_QUEUE_WRITERS) and faults against real processes on a throwaway
// Postgres, then the checker. Prints one line of counts and exits 1 on any lost,
// duplicated, out-of-order or unauthorized change, any cache that differs from the
// database, any outbox row not stamped exactly once, or any queued write not applied
// exactly as often as its queue says (once, or never when refused). The seed decides
// the fault plan, the writers' choices, the users and the subscribers; timing across
// processes is the machine's.
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { signToken } from '@realtime/auth';
import { HEAD_SQL, loadStreamedTables, type StreamedTable } from '@realtime/db';
import { createLogger, loadEnvOrExit } from '@realtime/runtime';
import { loadChaosEnv } from './env';
import {
  addFindings,
  checkDelivery,
  checkFresh,
  checkRestore,
  historyOf,
  lostSeqs,
  positionOf,
  type AtRestore,
  checkOutbox,
  checkQueueWrites,
  compareCache,
  isMember,
  lastMembershipChange,
  membershipHistory,
  noFindings,
  owed,
  readCursor,
  type EpochFrom,
  type Findings,
  type MemberAt,
  type MemberChange,
  type Memberships,
  type OutboxChange,
  type QueueFindings,
  type QueueOutboxRow,
} from './checker';
import { clientFaults, countByKind, planFaults, planSubscribers, planUsers, serverFaults, type FaultKind, type PlannedFault, type ServerFault } from './plan';
import { rng, type Rng } from './rng';
import { REPLICATOR_ROLE, SECRET, Stack, sleep, waitFor, type Proc } from './stack';
import { FreshSocket, Subscriber, fetchList, type Access, type Epoch } from './subscriber';
import { backedUp, restoreBackup, takeBackup } from './restore';
import { QueueWriters } from './queue-writers';
import { signIn } from './users';
import { MembershipWriter, Writers, burst, tables } from './workload';

const env = loadEnvOrExit(() => loadChaosEnv());
const log = createLogger(env.CHAOS_LOG_LEVEL, { service: 'chaos' });
const out = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => n.toLocaleString('en-US');

const usage = 'usage: npm run test:chaos -- [--seed N] [--seconds S (60..3600, default 150)] [--subscribers N (default 24)] [--writers N (default 4)] [--users N (default 5)] [--keep]';
const PINNED = 4;
const defaults = { subscribers: 24, writers: 4, users: 5 };

function options() {
  let values: { seed?: string; seconds?: string; subscribers?: string; writers?: string; users?: string; keep?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string' },
        seconds: { type: 'string', default: '150' },
        subscribers: { type: 'string', default: String(defaults.subscribers) },
        writers: { type: 'string', default: String(defaults.writers) },
        users: { type: 'string', default: String(defaults.users) },
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
    users: num('users', values.users, 1, 50),
    keep: values.keep ?? false,
  };
}

/** The options that decide a plan, as a command line (defaults left out). */
function again(o: ReturnType<typeof options>): string {
  const extra = (['subscribers', 'writers', 'users'] as const).filter((k) => o[k] !== defaults[k]).map((k) => ` --${k} ${o[k]}`);
  const queue = env.CHAOS_QUEUE_WRITERS === loadChaosEnv({}).CHAOS_QUEUE_WRITERS ? '' : `CHAOS_QUEUE_WRITERS=${env.CHAOS_QUEUE_WRITERS} `;
  return `${queue}npm run test:chaos -- --seed ${o.seed} --seconds ${o.seconds}${extra.join('')}`;
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
out(
  `chaos: seed ${opts.seed} (${again(opts)} runs this plan again), ${opts.seconds} s, ${opts.writers} writers, ${env.CHAOS_QUEUE_WRITERS} queue writers, ${opts.subscribers} subscribers, ${opts.users} users, ${os.cpus().length} cores`,
);
out(`  logs of every process: ${path.join(root, 'logs')}`);

let stack: Stack | null = null;
let subLog: WriteStream | null = null;
let queueLog: WriteStream | null = null;
let queue: QueueWriters | null = null;
let failed = true;
const subscribers: Subscriber[] = [];
/** Fresh sockets opened after revocations, each listening FRESH_FOR_MS; at most FRESH_AT_ONCE at a time. */
const fresh: { probe: FreshSocket; running: boolean; done: Promise<void> }[] = [];
const FRESH_FOR_MS = 3000;
const FRESH_AT_ONCE = 4;
let catalog = new Map<string, StreamedTable>();
/** What the restore fault found and left: the checker's truth for the history it ended. */
interface Restored {
  /** The head seq of the backup: the histories agree up to it. */
  backup: number;
  /** The head when the restore began: seqs above the backup up to it were lost. */
  lostHead: number;
  /** The outbox as it was then (every stamped row), for the epochs of the lost history. */
  truth: Truth;
  /** Each list cursor's debt as that outbox said. */
  froms: Map<string, Promise<EpochFrom>>;
  /** Every subscriber's subscription as the restore found it. */
  at: Map<Subscriber, AtRestore>;
  /** The ids of the stamped rows past the backup, by seq, as the restore found them. */
  oldIds: Map<number, string>;
  /** Subscribers held offline from just before the backup until the gateways were down. */
  held: number;
}
let restored: Restored | null = null;
try {
  stack = await Stack.start(root, log);
  const s = stack;
  // Each channel's project column, from the catalog, as the gateways judge grants by it.
  catalog = await loadStreamedTables({ query: async (text: string) => ({ rows: await s.query(text) }) });
  const gatewayUrl = (i: number) => `http://127.0.0.1:${s.gateways[i]!.port}`;
  const people = await createUsers(s, opts.users);
  const userPlans = planUsers(r.fork(7), opts.users, PINNED);
  const pinned = await createPinned(s, people.ids, userPlans);
  const durationMs = opts.seconds * 1000;
  const plan = planFaults(r.fork(1), durationMs);
  const notes = createWriteStream(path.join(root, 'logs', 'subscribers.log'), { flags: 'a' });
  subLog = notes;
  // Good past the run and its settling: the service path is about grants, not expiry.
  const service = await signToken(new TextEncoder().encode(SECRET), { channels: ['*'], projects: ['*'] }, { ttlSeconds: opts.seconds + 3600 });
  for (const spec of planSubscribers(r.fork(2), opts.subscribers, pinned, durationMs, s.gateways.length, userPlans)) {
    const access: Access =
      spec.user === null ? { kind: 'service', token: service } : { kind: 'user', userId: people.ids[spec.user]!, email: people.emails[spec.user]!, password: people.password };
    subscribers.push(new Subscriber(spec, gatewayUrl(spec.gateway), access, catalog.get(spec.channel)?.projectColumn ?? null, (line) => notes.write(`${new Date().toISOString()} subscriber ${spec.index}: ${line}\n`)));
  }
  out(`  stack up: Postgres, 2 replicators, 2 gateways; ${opts.users} users with ${userPlans.reduce((n, u) => n + u.memberships.length, 0)} memberships of the ${PINNED} pinned projects; plan: ${plan.server.map((f) => f.kind).join(', ')}; ${plan.client.length} client faults`);

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
  const serverLane = runServerLane(s, plan.server, r.fork(4), elapsed, record, { writers, members, queue: qw });
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
  // Nothing writes from here on: the outbox, read once, is the truth for every rule.
  const truth = await readTruth(s, subscribers);
  const memberIn = (t: Truth, sub: Subscriber): MemberAt => {
    const uid = sub.userId;
    return uid === null ? null : (project, seq) => isMember(t.history, uid, project, seq);
  };
  const memberFor = (sub: Subscriber): MemberAt => memberIn(truth, sub);
  const froms = new Map<string, Promise<EpochFrom>>();
  const expectedIn = async (t: Truth, fromsOf: Map<string, Promise<EpochFrom>>, sub: Subscriber, e: Epoch): Promise<number[]> => {
    const key = fromKey(e);
    if (!fromsOf.has(key)) fromsOf.set(key, epochFrom(s, e));
    const channel = { name: sub.spec.channel, projectColumn: catalog.get(sub.spec.channel)?.projectColumn ?? null };
    return owed(t.byTable.get(sub.spec.channel) ?? [], channel, sub.spec.filter, await fromsOf.get(key)!, memberIn(t, sub));
  };
  const expected = (sub: Subscriber, e: Epoch) => expectedIn(truth, froms, sub, e);
  // Refused (its filter names a project the user does not hold at the end) and its list
  // read after the last grant or revocation of that project: nothing more will come.
  const settledRefused = (sub: Subscriber) => {
    const project = sub.spec.filter.project_id;
    const e = sub.current;
    if (!sub.refused || !project || sub.userId === null || !e || !('cursor' in e.start)) return false;
    return !isMember(truth.history, sub.userId, project, truth.head) && readCursor(e.start.cursor).head >= lastMembershipChange(truth.history, sub.userId, project);
  };
  // Why a subscriber is not settled yet, or null when it is.
  const behind = async (sub: Subscriber): Promise<string | null> => {
    if (settledRefused(sub)) return null;
    if (!sub.isLive) return sub.refused ? 'refused, though it may subscribe now' : 'not live';
    const last = (await expected(sub, sub.current!)).at(-1);
    const got = sub.current!.received.at(-1)?.seq ?? 0;
    return last !== undefined && got < last ? `at seq ${got} of ${last}` : null;
  };
  await waitFor(
    'every subscriber to catch up',
    async () => {
      for (const sub of subscribers) if (await behind(sub)) return false;
      return true;
    },
    90_000,
    500,
  ).catch(async (err: Error) => {
    out(`  ${err.message}: the checker counts what is missing`);
    for (const sub of subscribers) {
      const why = await behind(sub);
      if (why) out(`    ${sub.label}: ${why}`);
    }
  });

  // The checker.
  // Set by the restore fault (TypeScript cannot see the assignment in another function).
  const rs = restored as Restored | null;
  // A position the restore took away: past the backup, and the change at that seq now
  // is another one, or none (a seq numbered early from the WAL, never stamped before it).
  const nowIds = rs ? await s.query<{ seq: number; id: string }>(`SELECT seq::int AS seq, id::text AS id FROM change_outbox WHERE seq > $1 AND seq <= $2`, [rs.backup, rs.lostHead]) : [];
  const taken = rs ? lostSeqs(rs.oldIds, new Map(nowIds.map((x) => [x.seq, x.id]))) : new Set<number>();
  const lost = (seq: number) => rs !== null && seq > rs.backup && (taken.has(seq) || !rs.oldIds.has(seq));
  let delivery: Findings = noFindings();
  let epochs = 0;
  let delivered = 0;
  for (const sub of subscribers) {
    for (const [i, e] of sub.epochs.entries()) {
      // An epoch of the history the restore ended is held to the outbox as it was then.
      const old = rs !== null && historyOf(i, rs.at.get(sub), lost) === 'old' ? rs : null;
      const complete = !old && i === sub.epochs.length - 1 && e.endedBy === null;
      const owes = old ? await expectedIn(old.truth, old.froms, sub, e) : await expected(sub, e);
      delivery = addFindings(delivery, checkDelivery(e.received, owes, complete, `${sub.label}, epoch ${i + 1}${old ? ' (before the restore)' : ''}`, old ? memberIn(old.truth, sub) : memberFor(sub)));
      epochs++;
      delivered += e.received.length;
    }
  }
  // Fresh sockets opened right after a revocation: authorization only, each delivery
  // against the history it came from (before the restore's gateways went down: the one
  // the restore ended; no gateway serves anyone between the two).
  let freshDelivered = 0;
  for (const { probe } of fresh) {
    for (const era of [0, 1]) {
      const t = era === 0 && rs !== null ? rs.truth : truth;
      const member: MemberAt = (project, seq) => isMember(t.history, probe.userId, project, seq);
      delivery = addFindings(delivery, checkFresh(probe.received.filter((d) => d.era === era), member, `${probe.label}${era === 0 && rs ? ' (before the restore)' : ''}`));
    }
    freshDelivered += probe.received.length;
  }
  const stuck = subscribers
    .filter((x) => x.refused && !settledRefused(x))
    .map((x) =>
      x.userId && x.spec.filter.project_id && isMember(truth.history, x.userId, x.spec.filter.project_id, truth.head)
        ? `${x.label}: its subscribe is still refused (FORBIDDEN), though the user is a member of project ${x.spec.filter.project_id}`
        : `${x.label}: refused, and its last list was read before the last change of its membership`,
    );
  // The service-token subscriber sees every project; its fresh read is that of a user
  // granted every project only now, after the run (so that nothing it did is affected).
  const auditor = await auditorSession(s, gatewayUrl(0), people);
  await waitFor('the auditor\'s grants to be stamped', async () => Number((await s.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox WHERE seq IS NULL`))[0]!.n) === 0, 60_000, 250);
  const cache = { missing: 0, extra: 0, differing: 0, first: null as string | null };
  for (const sub of subscribers) {
    const fresh = await fetchList(gatewayUrl(sub.spec.gateway), sub.session ?? auditor, sub.spec.channel, sub.spec.filter);
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
  const queueOutbox = await s.query<QueueOutboxRow>(
    `SELECT op, row_id AS "rowId", new_row ->> 'name' AS name, actor, txid::text AS txid FROM change_outbox WHERE table_name = 'data_layers' AND actor = ANY($1::text[]) ORDER BY id`,
    [qw.actors],
  );
  const queued = checkQueueWrites(qw.intended(), queueOutbox, qw.actors);
  const strays = subscribers.reduce((n, x) => n + x.strays, 0);
  const errors = subscribers.flatMap((x) => x.subscribeErrors.map((e) => `${x.label}: ${e}`));
  const resyncs = subscribers.reduce((n, x) => n + x.resyncs, 0);
  const refusals = subscribers.reduce((n, x) => n + x.refusals, 0);
  const sum = (f: (x: Subscriber) => number) => subscribers.reduce((n, x) => n + f(x), 0);
  const grants = truth.memberChanges.filter((c) => c.op === 'INSERT').length;
  const revocations = truth.memberChanges.filter((c) => c.op === 'DELETE').length;
  const roleChanges = truth.memberChanges.filter((c) => c.op === 'UPDATE').length;
  const written = members.stats.grants + members.stats.revocations + members.stats.roleChanges;
  const users = subscribers.filter((x) => x.userId !== null);
  const refreshes = sum((x) => x.refreshes);
  // A process that exits on its own is a failure even when the stream survives it (restoreAll restarts it).
  const crashes = [...s.replicators, ...s.gateways].flatMap((p) => p.crashes.map((c) => `${p.name} ${c} (read its log)`));
  // Not a failure of the stream, but a stop that hangs costs a deployment its graceful shutdown (and this run 15 s).
  const forced = [...s.replicators, ...s.gateways].reduce((n, p) => n + p.forcedStops, 0);
  const noRefresh = users.length > 0 && refreshes === 0 ? 'no user subscriber renewed its token on an open socket (the auth event): the tokens must outlive the first renewal point' : null;

  const restore = rs
    ? checkRestore(
        subscribers.map((x) => {
          const at = rs.at.get(x);
          const e = at && at.epochs > 0 ? x.epochs[at.epochs - 1] : undefined;
          return { label: x.label, at, then: e && { endedBy: e.endedBy, received: e.received.length } };
        }),
        lost,
      )
    : null;
  const counts = countByKind(faults);
  const faultText = [...serverFaults, ...clientFaults].map((k) => `${k} ${counts[k]}`).join(', ');
  const cacheBad = cache.missing + cache.extra + cache.differing;
  out('');
  out(
    `chaos seed ${opts.seed}: ${fmt(facts!.rows)} changes, ${fmt(delivered)} deliveries to ${subscribers.length} subscribers (${users.length} as ${opts.users} users, ${subscribers.length - users.length} with a service token; ` +
      `${epochs} subscriptions, ${resyncs} resyncs of which ${sum((x) => x.membershipResyncs)} for membership, ${refusals} subscribes refused and retried, ${sum((x) => x.forbidden)} forbidden and retried later; ` +
      `${refreshes} tokens renewed, ${sum((x) => x.expired)} ran out); ${fresh.length} fresh sockets opened right after a revocation (${fresh.filter((f) => f.probe.userId === lone.id).length} of a user with no other socket), ${fmt(freshDelivered)} deliveries to them; memberships: ${grants} grants, ${revocations} revocations, ${roleChanges} role changes (${written} written as such, the rest by projects made and deleted); ` +
      `faults: ${faultText}; lost ${delivery.lost}, duplicated ${delivery.duplicated}, out of order ${delivery.outOfOrder}, unexpected ${delivery.unexpected}, unauthorized ${delivery.unauthorized}, ` +
      `caches differing ${cacheBad}, outbox ${outboxProblems.length ? outboxProblems.join('; ') : `stamped once 1..${fmt(facts!.max ?? 0)}`}, outbox vs tables ${replayMismatch} mismatched, processes crashed ${crashes.length}, stops that needed SIGKILL ${forced}`,
  );
  if (rs && restore)
    out(
      `  restore: backup at head ${fmt(rs.backup)}, ${fmt(rs.lostHead - rs.backup)} changes lost (head ${fmt(rs.lostHead)} at the restore); ` +
        `${restore.resynced} of ${restore.beyond} subscribers at a position it took away resynced history-changed with nothing replayed on top (and ${restore.refused} refused, their grant lost with it, ${restore.preempted} closed first by another resync, membership or slow-client), ` +
        `${restore.resumed} of ${restore.behind} at a position both histories share resumed (${rs.held} of them held offline from before the backup)`,
    );
  if (qw.writers.length) out(`  ${queueSummary(queued, qw)}`);
  for (const line of [delivery.first, cache.first, ...(restore?.problems.slice(0, 3) ?? []), ...queued.problems.slice(0, 3), ...crashes, ...stuck.slice(0, 3), ...errors.slice(0, 5), strays ? `${strays} events for a subscription id the subscriber did not hold` : null, noRefresh]) if (line) out(`  first problem: ${line}`);
  failed =
    delivery.lost + delivery.duplicated + delivery.outOfOrder + delivery.unexpected + delivery.unauthorized + cacheBad + outboxProblems.length + replayMismatch + strays + errors.length + stuck.length + crashes.length + (restore?.problems.length ?? 0) + queued.problems.length > 0 ||
    noRefresh !== null;
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
  await queue?.close();
  subLog?.end();
  queueLog?.end();
  await stack?.stop().catch((err: Error) => out(`  stopping the stack: ${err.message}`));
  if (failed || opts.keep) out(`  logs kept in ${path.join(root, 'logs')}`);
  else await fs.rm(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

interface Truth {
  /** The streamed changes by table, in seq order, with the columns the rules read. */
  byTable: Map<string, OutboxChange[]>;
  memberChanges: MemberChange[];
  history: Memberships;
  head: number;
}

/** The outbox once everything is stamped: the changes of the subscribed channels and the membership history. */
async function readTruth(s: Stack, subs: Subscriber[]): Promise<Truth> {
  const projectColumns = [...catalog.values()].flatMap((t) => (t.projectColumn ? [t.projectColumn] : []));
  const columns = [...new Set(['id', ...projectColumns, ...subs.flatMap((x) => Object.keys(x.spec.filter))])];
  const channels = [...new Set(subs.map((x) => x.spec.channel))];
  const side = (col: 'old_row' | 'new_row') => `CASE WHEN ${col} IS NULL THEN NULL ELSE (SELECT jsonb_object_agg(k, ${col} ->> k) FROM unnest($1::text[]) k) END`;
  const changes = await s.query<OutboxChange>(
    `SELECT seq::int AS seq, table_name AS table, op, ${side('old_row')} AS old, ${side('new_row')} AS new FROM change_outbox WHERE seq IS NOT NULL AND table_name = ANY($2) ORDER BY seq`,
    [columns, channels],
  );
  const byTable = new Map<string, OutboxChange[]>();
  for (const c of changes) {
    if (!byTable.has(c.table)) byTable.set(c.table, []);
    byTable.get(c.table)!.push(c);
  }
  const memberChanges = await s.query<MemberChange>(
    `SELECT seq::int AS seq, op, coalesce(new_row ->> 'user_id', old_row ->> 'user_id') AS "userId", coalesce(new_row ->> 'project_id', old_row ->> 'project_id') AS "projectId"
     FROM change_outbox WHERE table_name = 'project_members' AND seq IS NOT NULL ORDER BY seq`,
  );
  const [h] = await s.query<{ head: number }>(`SELECT (${HEAD_SQL})::int AS head`);
  return { byTable, memberChanges, history: membershipHistory(memberChanges), head: h!.head };
}

/** The key an epoch's start is cached under (epochs from the same list share it). */
function fromKey(e: Epoch): string {
  return 'since' in e.start ? `since ${e.start.since}` : e.start.cursor;
}

/**
 * Where an epoch's debt starts: after its `since`, or after its list's head seq except
 * the changes whose transaction the list's snapshot already saw (Postgres decides that,
 * with pg_visible_in_snapshot).
 */
async function epochFrom(s: Stack, e: Epoch): Promise<EpochFrom> {
  if ('since' in e.start) return { after: e.start.since, inList: new Set() };
  const c = readCursor(e.start.cursor);
  const rows = await s.query<{ seq: number }>(`SELECT seq::int AS seq FROM change_outbox WHERE seq > $1 AND pg_visible_in_snapshot(txid, $2::pg_snapshot)`, [c.head, c.snapshot]);
  return { after: c.head, inList: new Set(rows.map((row) => row.seq)) };
}

interface People {
  ids: string[];
  emails: string[];
  password: string;
  auditor: { id: string; email: string };
}

/**
 * The run's users, and an auditor with no membership until the end. They share one
 * password: the users CLI hashes it once (argon2 is slow on purpose) and the others get
 * a copy of that hash.
 */
async function createUsers(s: Stack, count: number): Promise<People> {
  const password = randomBytes(18).toString('base64url');
  const emails = Array.from({ length: count }, (_, i) => `chaos-user-${i + 1}@chaos.test`);
  const auditorEmail = 'chaos-auditor@chaos.test';
  await s.addUser(emails[0]!, password);
  await s.query(`INSERT INTO users (email, password_hash) SELECT e, (SELECT password_hash FROM users WHERE email = $1) FROM unnest($2::text[]) e`, [emails[0], [...emails.slice(1), auditorEmail]]);
  const rows = await s.query<{ id: string; email: string }>(`SELECT id, email FROM users`);
  const id = (email: string) => rows.find((row) => row.email === email)!.id;
  return { ids: emails.map(id), emails, password, auditor: { id: id(auditorEmail), email: auditorEmail } };
}

/** A user with the others' password and a viewer's membership of every pinned project, and no subscribers. */
async function createLoneUser(s: Stack, people: People, pinned: string[]): Promise<{ id: string; email: string }> {
  const email = 'chaos-lone@chaos.test';
  const [row] = await s.query<{ id: string }>(`INSERT INTO users (email, password_hash) SELECT $1, password_hash FROM users WHERE email = $2 RETURNING id::text AS id`, [email, people.emails[0]]);
  await s.query(`INSERT INTO project_members (project_id, user_id, role) SELECT p, $2, 'viewer' FROM unnest($1::uuid[]) p`, [pinned, row!.id]);
  return { id: row!.id, email };
}

/** The pinned projects, each made by its creator (who owns it through the product's trigger), then the planned grants. */
async function createPinned(s: Stack, userIds: string[], plans: ReturnType<typeof planUsers>): Promise<string[]> {
  const pinned: string[] = [];
  for (let k = 0; k < PINNED; k++) {
    const creator = userIds[k % userIds.length]!;
    pinned.push(
      await s.transaction(async (c) => {
        await c.query(`SELECT set_config('app.user_id', $1, true), set_config('app.actor', 'chaos-setup', true)`, [creator]);
        return (await c.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [`pinned ${k + 1}`])).rows[0]!.id;
      }),
    );
  }
  const grants = plans.flatMap((u) => u.memberships.filter((m) => userIds[m.project % userIds.length] !== userIds[u.index]).map((m) => [pinned[m.project], userIds[u.index], m.role]));
  for (const [project, user, role] of grants) await s.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)`, [project, user, role]);
  return pinned;
}

/** The auditor granted every project now, and signed in: a fresh read of everything through the API. */
async function auditorSession(s: Stack, base: string, people: People): Promise<string> {
  await s.query(`INSERT INTO project_members (project_id, user_id, role) SELECT id, $1, 'viewer' FROM projects ON CONFLICT DO NOTHING`, [people.auditor.id]);
  return signIn(base, people.auditor.email, people.password);
}

/** Atomic capture: the last outbox image of every row is the row in its table, and deleted rows are gone. */
async function outboxReplaysToTables(s: Stack): Promise<number> {
  let mismatched = 0;
  for (const t of [...tables, 'project_members']) {
    const [row] = await s.query<{ n: number }>(
      // An UPDATE that changed the primary key also ends the old key's row.
      `WITH ev AS (SELECT row_id, seq, op, new_row FROM change_outbox WHERE table_name = $1
         UNION ALL SELECT old_row ->> 'id', seq, 'DELETE', NULL FROM change_outbox WHERE table_name = $1 AND op = 'UPDATE' AND old_row ->> 'id' IS DISTINCT FROM row_id),
       last AS (SELECT DISTINCT ON (row_id) row_id, op, new_row FROM ev ORDER BY row_id, seq DESC)
       SELECT count(*)::int AS n FROM (SELECT row_id, new_row FROM last WHERE op <> 'DELETE') a
       FULL JOIN (SELECT id::text AS row_id, to_jsonb(x) AS cur FROM ${t} x) b USING (row_id)
       WHERE a.new_row IS DISTINCT FROM b.cur`,
      [t],
    );
    mismatched += row!.n;
  }
  return mismatched;
}

/** What the restore fault pauses while it puts the backup back. */
interface Lane {
  writers: Writers;
  members: MembershipWriter;
  queue: QueueWriters;
}

async function runServerLane(s: Stack, faults: PlannedFault<ServerFault>[], r: Rng, elapsed: () => number, record: (k: FaultKind, d: string) => void, lane: Lane): Promise<void> {
  for (const f of faults) {
    await sleep(Math.max(0, f.at - elapsed()));
    try {
      record(f.kind, await inject(s, f.kind, r, lane));
    } catch (err) {
      throw new Error(`${f.kind} at t=${(elapsed() / 1000).toFixed(1)}s: ${(err as Error).message}`);
    }
    await restoreAll(s);
  }
}

async function runClientLane(s: Stack, faults: PlannedFault[], subs: Subscriber[], pinned: string[], r: Rng, elapsed: () => number, record: (k: FaultKind, d: string) => void): Promise<void> {
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
    // A project the stalled reader sees: one of the user's, when they hold any.
    const uid = sub.userId;
    const held = uid === null ? [] : await s.query<{ id: string }>(`SELECT project_id AS id FROM project_members WHERE user_id = $1 AND project_id = ANY($2::uuid[]) ORDER BY random() LIMIT 1`, [uid, pinned]).catch(() => []);
    const bytes = await burst(s.url, held[0]?.id ?? pinned[0]!, 200, 50_000).catch(() => 0);
    record(f.kind, `${sub.label} stalled for ${ms} ms under ${fmt(Math.round(bytes / 1e6))} MB of updates`);
  }
}

async function inject(s: Stack, kind: ServerFault, r: Rng, lane: Lane): Promise<string> {
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
    case 'postgres-crash': {
      const head = async () => Number((await s.query<{ h: string | null }>(`SELECT max(seq)::text AS h FROM change_outbox`))[0]?.h ?? 0);
      const before = await head();
      await s.crashPostgres(r.int(500, 2000));
      // Stamps that had gone out but not reached the OS are gone; the next leader numbers
      // their changes again, and the checker holds it to the seqs the clients got.
      const after = await head();
      await s.waitForLeader();
      return `SIGKILL to every Postgres process, then crash recovery (head ${fmt(before)} before, ${fmt(after)} after recovery); a replicator leads after ${took()}`;
    }
    case 'restore': {
      // The queue clients' requests wait from before the backup until the gateways are
      // back: a write the backup does not hold the restore takes away, acknowledged or not,
      // and no queue can be held to it. The other writers go on, for the subscribers' sake.
      await lane.queue.pause();
      try {
        return await restoreFault(s, r, lane, took);
      } finally {
        lane.queue.resume();
      }
    }
  }
}

/**
 * A backup (the streamed tables, the outbox and realtime_state in one snapshot), writes
 * that subscribers see, then the backup put back with the gateways and replicators down,
 * the replicators started again, and the gateways only once the new history's head has
 * passed the lost one: every position of the lost history names a seq the new history
 * has given to another change. What each subscriber held then, and the outbox as it was,
 * are kept for the checker.
 */
async function restoreFault(s: Stack, r: Rng, lane: Lane, took: () => string): Promise<string> {
  const head = async () => Number((await s.query<{ h: string | null }>(`SELECT max(seq)::text AS h FROM change_outbox`))[0]?.h ?? 0);
  const tables = backedUp(catalog.keys());
  // Some subscribers offline from before the backup to after the restore: their positions
  // are ones both histories share, and they must resume from them normally.
  const held = subscribers.filter((x) => x.isLive && r.chance(0.3));
  for (const x of held) x.offlineFor(600_000);
  const backup = await takeBackup(s, tables);
  // Writes go on and subscribers get them: the changes the restore will take away.
  await sleep(r.int(1000, 3000));
  // Nothing reaches a subscriber from here until the gateways start again.
  await Promise.all([...s.gateways, ...s.replicators].map((p) => p.stop('SIGTERM')));
  // They try again, and get in once the gateways are back.
  for (const x of held) x.offlineFor(0);
  // A list read that had its answer just before sets its epoch up in a moment.
  await sleep(300);
  const at = new Map<Subscriber, AtRestore>();
  for (const x of subscribers) {
    const e = x.current;
    at.set(x, { epochs: x.epochs.length, ended: !e || e.endedBy !== null, position: e ? positionOf(e.start, e.received) : 0, received: e?.received.length ?? 0 });
  }
  const truth = await readTruth(s, subscribers);
  const froms = new Map<string, Promise<EpochFrom>>();
  for (const x of subscribers) for (const e of x.epochs) if (!froms.has(fromKey(e))) froms.set(fromKey(e), Promise.resolve(await epochFrom(s, e)));
  const lostHead = truth.head;
  const oldIds = new Map((await s.query<{ seq: number; id: string }>(`SELECT seq::int AS seq, id::text AS id FROM change_outbox WHERE seq > $1`, [backup])).map((x) => [x.seq, x.id] as const));
  restored = { backup, lostHead, truth, froms, at, oldIds, held: held.length };
  await Promise.all([lane.writers.pause(), lane.members.pause()]);
  try {
    await restoreBackup(s, tables);
  } finally {
    lane.writers.resume();
    lane.members.resume();
  }
  const back = await head();
  if (back !== backup) throw new Error(`the restored outbox's head is ${back}, the backup's ${backup}`);
  for (const p of s.replicators) p.start();
  await s.waitForLeader();
  // More changes than were lost, whether the writers are still at it or not: every row
  // of a table touched, one table a transaction, until the outbox (its rows will be seqs
  // 1..N) holds more rows than the lost head.
  let filler = 0;
  const rows = async () => Number((await s.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox`))[0]!.n);
  for (let i = 0; i < 1000 && (await rows()) <= lostHead; i++) {
    const t = tables[1 + (i % (tables.length - 1))]!;
    filler += (await s.query<{ id: string }>(`UPDATE ${t} SET updated_at = now() RETURNING id`).catch(() => [])).length;
  }
  await waitFor('the new history to pass the lost head', async () => (await head()) > lostHead, 120_000, 200);
  for (const g of s.gateways) g.start();
  await Promise.all(s.gateways.map((g) => s.waitForGateway(g)));
  const positions = [...at.values()].filter((a) => a.epochs > 0 && !a.ended);
  const past = positions.filter((a) => a.position > backup).length;
  return `backup at head ${fmt(backup)}, ${fmt(lostHead - backup)} changes lost (head ${fmt(lostHead)}); ${past} subscribers past the backup, ${positions.length - past} at or before it (${held.length} held offline); ${fmt(filler)} changes written besides the writers' to pass the lost head; the gateways are back after ${took()}`;
}

/** Back to full strength between faults: both replicators and gateways up, WAL allowed. */
async function restoreAll(s: Stack): Promise<void> {
  await s.query(`ALTER ROLE ${REPLICATOR_ROLE} REPLICATION`);
  for (const p of [...s.replicators, ...s.gateways]) if (!p.running) p.start();
  await s.waitForLeader();
  await Promise.all(s.gateways.map((g) => s.waitForGateway(g)));
}

/** How far the queue clients are, for the progress lines. */
function queueProgress(q: QueueWriters): string {
  const w = q.intended();
  const pending = w.filter((x) => x.outcome === 'pending').length;
  return `${fmt(w.length)} queued writes (${fmt(pending)} pending)`;
}

/** The queue clients' line of the summary. */
function queueSummary(f: QueueFindings, q: QueueWriters): string {
  const st = q.stats;
  const refusals = Object.entries(f.refusals)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([why, n]) => `${why === 'dropped' ? 'theirs taken in a conflict' : why}: ${n}`)
    .join(', ');
  return (
    `queue writes: ${st.clients} clients, intended ${fmt(f.intended)} (${f.byKind.create} creates, ${f.byKind.update} updates, ${f.byKind.delete} deletes), applied once ${fmt(f.appliedOnce)}, twice ${f.twice}, lost ${f.lost}, ` +
    `refused ${f.refused}${refusals ? ` (${refusals})` : ''} and applied anyway ${f.refusedApplied}, unsettled ${f.unsettled}, unintended ${f.unintended}, txid differing ${f.txidDiffering}; ` +
    `network: ${fmt(st.requests)} requests, ${st.failedBeforeSending} failed before sending, ${st.lostResponses} answers lost, ${st.delayed} delayed, ${st.disconnects} disconnects (${st.offline} requests failed offline), ${st.restarts} reloads; ` +
    `${st.retries} retries, ${st.conflicts} conflicts (${st.keptMine} kept mine, ${st.tookTheirs} took theirs), ${st.rebased} rebased, ${st.unauthorized} unauthorized; ` +
    `confirmed by the stream ${st.confirmed.stream}, by a list ${st.confirmed.refetch}, by the answer ${st.confirmed.response}`
  );
}

/**
 * The queue clients: users of their own (so that their writes are told apart in the
 * outbox by actor, and no membership change of the run takes their projects away), each
 * an editor of every pinned project, with the run's password.
 */
async function createQueueUsers(s: Stack, people: People, pinned: string[], count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, (_, i) => `chaos-queue-${i + 1}@chaos.test`);
  if (!count) return emails;
  await s.query(`INSERT INTO users (email, password_hash) SELECT e, (SELECT password_hash FROM users WHERE email = $1) FROM unnest($2::text[]) e`, [people.emails[0], emails]);
  await s.query(`INSERT INTO project_members (project_id, user_id, role) SELECT p, u.id, 'editor' FROM unnest($1::uuid[]) p, users u WHERE u.email = ANY($2::text[])`, [pinned, emails]);
  return emails;
}
