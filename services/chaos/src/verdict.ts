// The end of a run: wait for every subscriber to catch up, read the truth once, hold
// every subscription, fresh socket, cache, the outbox and the queue clients to it, and
// print the summary. Returns whether the run failed.
import type { StreamedTable } from '@realtime/db';
import { addFindings, checkDelivery, checkFresh, checkOutbox, checkRestore, compareCache, historyOf, isMember, lastMembershipChange, lostSeqs, noFindings, owed, readCursor, type EpochFrom, type Findings, type MemberAt } from './checker';
import { checkQueueWrites, type QueueOutboxRow } from './queue-check';
import { CHANGE_IDENTITY, type FaultRecord, type Restored } from './faults';
import type { ChaosOptions } from './options';
import { auditorSession, type People } from './people';
import { clientFaults, countByKind, serverFaultsOf } from './plan';
import type { QueueWriters } from './queue-writers';
import { fmt, queueSummary, sumBySource } from './report';
import { waitFor, type Stack } from './stack';
import { fetchList, type Epoch, type FreshSocket, type Subscriber } from './subscriber';
import { epochFrom, fromKey, outboxReplaysToTables, readTruth, type Truth } from './truth';
import type { MembershipWriter } from './workload';
import { WINDOW_PAGE, type ChaosWindows } from './windows';

/** What a run leaves for its verdict. */
export interface RunEnd {
  stack: Stack;
  catalog: ReadonlyMap<string, StreamedTable>;
  subscribers: readonly Subscriber[];
  fresh: readonly { probe: FreshSocket }[];
  /** What the restore fault found, when the plan had one. */
  restored: Restored | null;
  people: People;
  lone: { id: string };
  queue: QueueWriters;
  members: MembershipWriter;
  /** The live windows kept through the run (settled before the verdict). */
  windows: ChaosWindows;
  faults: FaultRecord[];
  options: ChaosOptions;
  out: (line: string) => void;
}

export async function judge(run: RunEnd): Promise<boolean> {
  const { stack: s, catalog, subscribers, fresh, restored, people, lone, queue: qw, members, faults, options: opts, out } = run;
  const gatewayUrl = (i: number) => `http://127.0.0.1:${s.gateways[i]!.port}`;
  // Nothing writes from here on: the outbox, read once, is the truth for every rule.
  const truth = await readTruth(s, catalog, subscribers);
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
  const rs = restored;
  // A position the restore took away: past the backup, and the change at that seq now
  // is another one, or none (a seq numbered early from the WAL, never stamped before it).
  const nowIds = rs ? await s.query<{ seq: number; id: string }>(`SELECT seq::int AS seq, ${CHANGE_IDENTITY} AS id FROM change_outbox WHERE seq > $1 AND seq <= $2`, [rs.backup, rs.lostHead]) : [];
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
  const win = await run.windows.check();
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
  const faultText = [...serverFaultsOf(opts.redis), ...clientFaults].map((k) => `${k} ${counts[k]}`).join(', ');
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
  if (s.redis) {
    const texts = await Promise.all(s.gateways.map((g) => s.metrics(g)));
    const feed = sumBySource(texts, 'realtime_feed_changes_total');
    const pages = sumBySource(texts, 'realtime_replay_source_total');
    const fallbacks = sumBySource(texts.map((t) => t?.replace(/reason=/g, 'source=') ?? null), 'realtime_feed_log_fallbacks_total');
    out(
      `  change log, since each gateway's last start: live feed ${fmt(feed.log ?? 0)} changes from Redis, ${fmt(feed.postgres ?? 0)} from the outbox (outbox reads for a gap ${fmt(fallbacks.gap ?? 0)}, for lag ${fmt(fallbacks.lag ?? 0)}); ` +
        `replay pages from the ring ${fmt(pages.ring ?? 0)}, Redis ${fmt(pages.redis ?? 0)}, Postgres ${fmt(pages.postgres ?? 0)}`,
    );
  }
  const wd = win.diff;
  const windowsBad = wd.missing + wd.extra + wd.misplaced + wd.differing + (wd.totalOff ? 1 : 0);
  if (win.windows)
    out(
      `  windows: ${win.windows} live windows of ${WINDOW_PAGE} rows a page, ${fmt(win.rows)} rows held, ${run.windows.pagesLoaded} pages loaded during the run; ` +
        `against the API's read up to each end: missing ${wd.missing}, extra ${wd.extra}, misplaced ${wd.misplaced}, differing ${wd.differing}, totals ${wd.totalOff ? 'off' : 'exact'}`,
    );
  for (const line of [delivery.first, cache.first, wd.first, ...(restore?.problems.slice(0, 3) ?? []), ...queued.problems.slice(0, 3), ...crashes, ...stuck.slice(0, 3), ...errors.slice(0, 5), strays ? `${strays} events for a subscription id the subscriber did not hold (${subscribers.flatMap((x) => x.strayNotes).slice(0, 3).join('; ')}; the subscribers' log has the context)` : null, noRefresh]) if (line) out(`  first problem: ${line}`);
  let failed =
    delivery.lost + delivery.duplicated + delivery.outOfOrder + delivery.unexpected + delivery.unauthorized + cacheBad + windowsBad + outboxProblems.length + replayMismatch + strays + errors.length + stuck.length + crashes.length + (restore?.problems.length ?? 0) + queued.problems.length > 0 ||
    noRefresh !== null;
  const missingKinds = serverFaultsOf(opts.redis).filter((k) => counts[k] === 0);
  if (missingKinds.length) {
    out(`  not injected: ${missingKinds.join(', ')} (a run of ${opts.seconds} s has room for fewer faults; give more --seconds)`);
    failed = true;
  }
  return failed;
}
