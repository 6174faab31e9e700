// Replay of one subscription, within the turns its subscribe took: checks that the
// client's positions are in the history the outbox holds (decide.ts), brings the user's
// membership history up to the replay's head, then reads pages (at most two in memory,
// and only while the socket has room; each from the ring, the change log or the outbox,
// sources.ts) and hands the subscription to the live feed.
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { grantedWithNewProject, readMemberships } from '../auth/members-reader';
import type { Connections } from '../connections/connections';
import { who, type Counters } from '../connections/socket';
import { send } from '../dispatch/send';
import { keptApiRows, subscriberEvents } from '../dispatch/event';
import { hasRoom, type GatewayLimits } from '../limits/limits';
import type { LimitNotes } from '../limits/notes';
import * as metrics from '../metrics';
import type { Registry } from '../subscriptions/registry';
import { covers, type Subscription } from '../subscriptions/subscription';
import { replayDecision } from './decide';
import { gapVerdict, type Position } from './history';
import { countStamped, replayScope, type ResumeReads } from './reader';
import type { ReplayRing } from './ring';
import { PageSources, type LogAnchor, type ReplayLog, type ReplaySource, type SourcedPage } from './sources';
import type { FeedChange } from '../feed';

/** Logged at most once a minute (every one is counted in realtime_resyncs_total{reason="history-changed"}). */
export function noteHistoryChanged(notes: LimitNotes, detail: Record<string, unknown>): void {
  notes.once(
    'history-changed',
    detail,
    'a client resumed from a position that is not in the history the outbox holds (the database restored, rolled back or replaced, or outbox rows removed): resync, no replay (further ones this minute are counted, not logged)',
  );
}

/** Rows of a replay's range missing from the outbox (removed by hand): the replay stops with `history-changed`. */
class RangeGap extends Error {
  constructor(
    readonly from: number,
    readonly head: number,
    readonly rows: number,
  ) {
    super(`${head - from - rows} of the rows stamped in (${from}, ${head}] are missing from the outbox`);
  }
}

export interface ReplayerOptions {
  replayPool: pg.Pool;
  /** The history checks, read for many resumes at once. */
  resumeReads: ResumeReads;
  registry: Registry;
  connections: Connections;
  limits: GatewayLimits;
  notes: LimitNotes;
  counters: Counters;
  log: Logger;
  /** The recent feed batches of this process: pages it covers are read from memory. */
  ring?: ReplayRing<FeedChange> | undefined;
  /** The shared change log (REDIS_URL): pages its current stream holds are read from it. */
  changeLog?: ReplayLog | undefined;
}

export class Replayer {
  private readonly sources: PageSources;

  constructor(private readonly opts: ReplayerOptions) {
    this.sources = new PageSources({ replayPool: opts.replayPool, ring: opts.ring, changeLog: opts.changeLog, notes: opts.notes, log: opts.log });
  }

  /** Replay pages served so far, by where they came from. */
  get pageSources(): Readonly<Record<ReplaySource, number>> {
    return this.sources.counts;
  }

  /** Runs within the turns the subscribe took: every read here is the replay's. */
  /** `fps`: the fingerprints at the positions and at the head, read with the bounds (ResumeReads). */
  async replay(sub: Subscription, since: number, positions: Position[], bounds: { head: number; floor: number }, joinedAt: number, fps?: Map<number, string>): Promise<void> {
    this.opts.counters.replays++;
    metrics.replaysTotal.inc();
    // History identity: each position is the change stamped with its seq here (same
    // fingerprint), and every seq of the replay's range still has its row. Otherwise the
    // seqs after it name changes of another history: a refetch, never a replay.
    // With a ring or the change log, the pages they serve are dense runs of the stream
    // that read no outbox row: the outbox's rows of the range are counted only from the
    // first page read from it (pages() below), so a replay they serve whole reads no range.
    // With the change log, the head's own fingerprint too: the log's stream serves this
    // replay only if it holds that very change at the head (sources.ts, "anchor").
    const deferGap = this.sources.beyondOutbox;
    const seqs = positions.map((p) => p.seq).filter((s) => s > 0);
    if (this.opts.changeLog && bounds.head > since) seqs.push(bounds.head);
    // Read with the bounds when nothing else is needed: no range to count, no pending digest.
    const check = fps && deferGap && !sub.cursor?.pending ? { fps, inRange: null, floor: bounds.floor, pendingDigest: null } : await this.opts.resumeReads.check(seqs, since, bounds.head, sub.cursor, !deferGap);
    if (sub.closed) return;
    const cursor = sub.cursor ? { headSeq: sub.cursor.headSeq, digest: sub.cursor.pending?.digest ?? null } : null;
    const decision = replayDecision({ since, positions, bounds, check, cursor, joinedAt });
    if (decision.kind === 'resync') {
      if (decision.logged) {
        const floor = Math.max(bounds.floor, check.floor);
        noteHistoryChanged(this.opts.notes, { ...who(sub.socket), sub: sub.id, positions, floor, head: bounds.head, found: Object.fromEntries(check.fps), rowsInRange: check.inRange, pending: sub.cursor?.pending ?? null, pendingFound: check.pendingDigest });
      }
      return this.opts.registry.resync(sub, decision.reason, bounds.head);
    }
    await this.pages(sub, since, bounds, deferGap, { seq: bounds.head, fp: check.fps.get(bounds.head) ?? null });
  }

  private async pages(sub: Subscription, since: number, bounds: { head: number; floor: number }, deferGap: boolean, anchor: LogAnchor): Promise<void> {
    const { registry, replayPool, limits } = this.opts;
    const p = sub.socket.data.principal;
    const log = p.kind === 'user' ? registry.membershipOf(sub.socket) : null;
    if (p.kind === 'user') {
      // The history up to the replay's head, which the feed may not have reached yet.
      if (!log) return;
      for (const e of await readMemberships(replayPool, p.userId, bounds.head)) log.add(e);
      // The head may be past the session's end, which the feed has yet to bring.
      if (sub.closed || !(await this.opts.connections.sessions.confirm(sub.socket)) || sub.closed) return;
      // A project gained or lost while away: the client's cache holds rows it may no
      // longer see, or lacks rows it now may. Only a refetch gets both right.
      for (const e of log.flipsBetween(since, bounds.head)) {
        if (!covers(sub, e.projectId) || (await grantedWithNewProject(replayPool, e))) continue;
        return registry.resync(sub, 'membership', bounds.head);
      }
      if (sub.closed) return;
    }
    // Only the projects this subscription may receive are read, through the index: the
    // grant is judged by the project column the trigger records.
    const indexed = sub.table.projectColumn;
    const granted = p.kind === 'service' ? (p.grant.projects.includes('*') ? null : p.grant.projects) : log!.everMember();
    const projects = indexed ? replayScope(sub.filter, indexed, granted) : null;
    // Before the first page read from the outbox, when replay() left it: every seq from
    // there to the head must have its row, or that page would skip changes silently.
    let gapChecked = !deferGap;
    const beforeOutbox = async (after: number) => {
      if (gapChecked) return;
      gapChecked = true;
      const rows = await countStamped(replayPool, after, bounds.head);
      if (gapVerdict(after, bounds.head, rows) !== 'ok') throw new RangeGap(after, bounds.head, rows);
    };
    // Each page from the ring, the change log or the outbox (sources.ts), the same changes whichever.
    const pageOf = this.sources.replay(anchor, beforeOutbox);
    const read = (after: number) => pageOf({ channel: sub.channel, after, upTo: bounds.head, limit: limits.pageSize, maxBytes: limits.pageBytes, filter: sub.filter, projects, projectColumn: indexed });
    // One replay at a time per socket (its subscriptions' replays share its bound), and
    // within it at most two pages in memory: the one being sent and the next, read while
    // this one is encoded and written, but only while the socket has room for it.
    const release = await sub.socket.data.pages.take(() => sub.closed);
    if (!release) return;
    let next: Promise<SourcedPage> | null = null;
    try {
      let after = since;
      for (;;) {
        if (!next) {
          if (!(await this.room(sub))) return;
          next = read(after);
        }
        let page: SourcedPage;
        try {
          page = await next;
        } catch (err) {
          if (!(err instanceof RangeGap)) throw err;
          noteHistoryChanged(this.opts.notes, { ...who(sub.socket), sub: sub.id, since, from: err.from, head: err.head, rowsInRange: err.rows });
          return registry.resync(sub, 'history-changed', bounds.head);
        }
        next = null;
        if (sub.closed) return;
        // A page from memory or the log may pick nothing of the run it judged: go on after it.
        const more = page.more && page.through > after;
        if (more) {
          after = page.through;
          if (hasRoom(sub.socket.data.queue.bytes, limits)) next = read(after);
        }
        // A page of the log is a shared run's objects (sources.ts): their API form and JSON
        // are made once for every replay of the run. Other pages are this replay's alone.
        const shared = page.source === 'redis';
        const events = subscriberEvents(registry, sub, page.changes, shared ? (c) => keptApiRows(sub.table, c) : undefined);
        // A page is one message: the client applies it in one cache update.
        send(sub, sub.seam.replayed(events), shared);
        if (!more) break;
      }
    } finally {
      // A read still running is awaited, so that its connection goes back to the pool clean.
      await next?.catch(() => undefined);
      release();
    }
    send(sub, sub.seam.goLive(bounds.head));
    sub.heldBytes = 0;
    sub.socket.emit('live', { sub: sub.id, seq: sub.seam.position });
  }

  /**
   * Waits until what waits for the socket is under half the bound. False (and the socket's
   * subscriptions resynced) when it does not drain within the stalled-socket grace
   * (slowClientMs): a client that stopped reading must not hold a replay's turn.
   */
  private async room(sub: Subscription): Promise<boolean> {
    const socket = sub.socket;
    const deadline = Date.now() + this.opts.limits.slowClientMs;
    while (!hasRoom(socket.data.queue.bytes, this.opts.limits)) {
      if (sub.closed || !socket.connected) return false;
      if (Date.now() > deadline) {
        this.opts.connections.slow(socket);
        return false;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return !sub.closed;
  }
}
