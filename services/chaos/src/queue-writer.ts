// One signed-in user writing through @realtime/client's durable write queue over a
// FaultyNetwork, as a browser tab does: creates, updates and deletes of data_layers rows
// in the pinned projects, each with a marker of its own (checker.ts, checkQueueWrites),
// reloads (the queue closed and made again over the same store), and conflicts resolved
// either way.
import { createWriteQueue, memoryStorage, type MemoryStorage, type WriteEntry, type WriteEvent, type WriteQueue } from '@realtime/client';
import type { Logger } from '@realtime/runtime';
import type { IntendedWrite } from './queue-check';
import { FaultyNetwork, noNetFaults } from './faulty-network';
import { defaultPace, outcomeOf, uuidFrom, type QueueStats, type QueueWriterPace, type QueueWriterSpec, type Tracked } from './queue-model';
import type { Rng } from './rng';
import { sleep } from './stack';
import { signIn } from './users';
import { queueRowPrefix } from './workload';

export const RESOURCE = 'data-layers';
/** The rows a client keeps alive at most: the table stays within the workload's caps and the API's one-page lists. */
const MAX_ROWS = 10;
const kinds = ['vector', 'raster', 'table', 'document'] as const;

/**
 * One signed-in user writing through a queue of its own: a create, update or delete every
 * few hundred ms, updates and deletes against the version it last saw (its answers,
 * conflicts, and a list it reads every few seconds, which also confirms what it holds),
 * conflicts resolved keeping mine or taking theirs at random.
 */
export class QueueWriter {
  readonly net: FaultyNetwork;
  readonly stats: QueueStats = { retries: 0, conflicts: 0, keptMine: 0, tookTheirs: 0, rebased: 0, disconnects: 0, restarts: 0, unauthorized: 0, confirmed: { response: 0, stream: 0, refetch: 0, expired: 0 } };
  private readonly storage: MemoryStorage = memoryStorage();
  private queue: WriteQueue | null = null;
  private cookie = '';
  private readonly tracked = new Map<string, Tracked>();
  /** Rows this client made and believes are there (and visible to it), with the version it last saw. */
  private readonly mine = new Map<string, number>();
  /** Every row this client created; a list without one of them (read after its create was answered) means it is gone. */
  private readonly created = new Map<string, Tracked>();
  /** Rows a delete was queued for: never written again by this client, so that each delete names its own row. */
  private readonly deleting = new Set<string>();
  /** Entry and row ids. */
  private readonly ids: Rng;
  /** What to write and when, and how conflicts are resolved. */
  private readonly choices: Rng;
  /** The queue's retry jitter. */
  private readonly backoffRandom: Rng;
  private n = 0;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: QueueWriterSpec,
    r: Rng,
    private readonly log: Logger,
    private readonly note: (line: string) => void = () => undefined,
    private readonly pace: QueueWriterPace = defaultPace,
  ) {
    this.net = new FaultyNetwork(r.fork(1), spec.gateways, () => this.cookie);
    this.choices = r.fork(2);
    this.ids = r.fork(3);
    this.backoffRandom = r.fork(4);
  }

  get actor(): string {
    return this.spec.email;
  }

  async start(): Promise<void> {
    await this.signIn();
    await this.open();
    this.loop = this.run();
  }

  /** No new writes from now on; what is queued is still sent. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  /** A healthy network from now on; resolves once nothing is queued, on the wire or in conflict, or at `until` (false). */
  async drain(until: number): Promise<boolean> {
    this.net.faults = noNetFaults;
    this.net.offlineFor(0);
    let lastKick = 0;
    while (Date.now() < until) {
      const q = this.queue;
      if (q) {
        this.resolveConflicts(q);
        if (q.entries().every((e) => e.state === 'sent' || e.state === 'confirmed' || e.state === 'failed')) return true;
        // A retry may wait out its backoff (up to 30 s): a client back online tries at once.
        if (Date.now() - lastKick > 1000) {
          q.kick();
          lastKick = Date.now();
        }
      }
      await sleep(100);
    }
    return false;
  }

  async pause(): Promise<void> {
    await this.net.pause();
  }

  resume(): void {
    this.net.resume();
    this.queue?.kick();
  }

  confirmTxids(txids: readonly string[]): void {
    this.queue?.confirmTxids(txids);
  }

  /** Every write this client made, with what its queue said last. */
  intended(): IntendedWrite[] {
    const now = new Map((this.queue?.entries() ?? []).map((e) => [e.id, e.state] as const));
    return [...this.tracked.values()].map((t) => {
      // The queue's list is the latest word on what it still holds (events are not sent for a reload's revival).
      const state = t.state === 'dropped' ? t.state : (now.get(t.id) ?? t.state);
      const w: IntendedWrite = { id: t.id, kind: t.kind, rowId: t.rowId, marker: t.marker, actor: this.actor, outcome: outcomeOf(state) };
      if (t.status !== undefined) w.status = t.status;
      if (t.txid !== undefined) w.txid = t.txid;
      return w;
    });
  }

  close(): Promise<void> {
    this.stopping = true;
    const q = this.queue;
    this.queue = null;
    return q?.close() ?? Promise.resolve();
  }

  private async signIn(): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        this.cookie = await signIn(this.spec.gateways[i % this.spec.gateways.length]!, this.spec.email, this.spec.password);
        return;
      } catch (err) {
        if (i >= 240) throw err;
        await sleep(250);
      }
    }
  }

  /** A queue over the client's store: at the start, and after each reload. */
  private async open(): Promise<void> {
    const q = createWriteQueue({
      storage: this.storage,
      baseUrl: this.spec.gateways[0]!,
      fetch: this.net.fetch,
      random: this.backoffRandom,
      uuid: () => uuidFrom(this.ids),
      // A handful of confirmed entries is all a tab shows; the checker follows the events.
      keepConfirmed: 0,
      onEvent: (e) => this.onEvent(e),
    });
    this.queue = q;
    await q.ready;
  }

  private async reload(): Promise<void> {
    const old = this.queue;
    this.queue = null;
    await old?.close();
    this.stats.restarts++;
    this.note(`reload: ${this.storage.saved.filter((e) => e.state === 'sending').length} writes were on the wire, ${this.storage.saved.filter((e) => e.state === 'queued').length} queued`);
    await this.open();
  }

  private onEvent(e: WriteEvent): void {
    switch (e.type) {
      case 'sent':
      case 'confirmed': {
        if (e.type === 'confirmed') this.stats.confirmed[e.by]++;
        const t = this.track(e.entry);
        t.state = e.entry.state;
        if (e.entry.txid !== undefined) t.txid = e.entry.txid;
        if (e.entry.kind !== 'delete' && e.entry.version !== undefined) this.saw(e.entry.rowId, e.entry.version);
        break;
      }
      case 'failed': {
        const t = this.track(e.entry);
        t.state = 'failed';
        if (e.entry.error?.status !== undefined) t.status = e.entry.error.status;
        // Gone, or out of the user's reach: a tab drops it from what it shows (a later list brings it back if it returns).
        if (e.entry.error?.status === 404) this.mine.delete(e.entry.rowId);
        this.note(`${e.entry.kind} ${e.entry.id} of ${e.entry.rowId} refused: ${e.entry.error?.status ?? ''} ${e.entry.error?.message ?? ''}`);
        break;
      }
      case 'conflict': {
        this.stats.conflicts++;
        this.track(e.entry).state = 'conflict';
        const v = e.entry.current?.version;
        if (typeof v === 'number') this.saw(e.entry.rowId, v, true);
        break;
      }
      case 'retrying':
        this.stats.retries++;
        this.track(e.entry).state = 'queued';
        break;
      case 'rebased':
        this.stats.rebased++;
        break;
      case 'paused':
        if (e.reason !== 'unauthorized') break;
        this.stats.unauthorized++;
        this.note('paused: answered 401; signing in again');
        void this.signIn().then(() => this.queue?.resume(), (err: Error) => this.log.warn({ err }, 'queue writer could not sign in again'));
        break;
      case 'storage-error':
        this.log.warn({ err: e.error, op: e.op }, 'queue writer storage failed');
        break;
      default:
        break;
    }
  }

  /** The record of a write; made on first sight (an event may come before create() returns). */
  private track(entry: WriteEntry): Tracked {
    let t = this.tracked.get(entry.id);
    if (!t) {
      t = { id: entry.id, kind: entry.kind, rowId: entry.rowId, marker: null, state: entry.state };
      this.tracked.set(entry.id, t);
      if (entry.kind === 'create') this.created.set(entry.rowId, t);
    }
    t.kind = entry.kind;
    // A create or update carries its marker as the row's name.
    if (entry.kind !== 'delete' && typeof entry.body?.name === 'string') t.marker = entry.body.name;
    return t;
  }

  /** The version seen for a row it holds (answers and lists only move forward; a conflict's current row is the truth). */
  private saw(rowId: string, version: number, exact = false): void {
    const known = this.mine.get(rowId);
    if (known === undefined) return;
    this.mine.set(rowId, exact ? version : Math.max(known, version));
  }

  private async run(): Promise<void> {
    const r = this.choices;
    const p = this.pace;
    const within = ([min, max]: readonly [number, number]) => r.int(min, max);
    let nextDrop = Date.now() + within(p.onlineMs);
    let backOnline = 0;
    let nextReload = Date.now() + within(p.reloadEveryMs);
    let nextRead = Date.now() + within(p.readEveryMs);
    while (!this.stopping) {
      await sleep(within(p.tickMs));
      const q = this.queue;
      if (!q || this.stopping) continue;
      const now = Date.now();
      if (now >= nextDrop) {
        const ms = within(p.offlineMs);
        this.net.offlineFor(ms);
        this.stats.disconnects++;
        backOnline = now + ms;
        nextDrop = backOnline + within(p.onlineMs);
      }
      if (backOnline && now >= backOnline) {
        // What a tab does on the window's `online` event.
        q.kick();
        backOnline = 0;
      }
      if (now >= nextReload) {
        nextReload = now + within(p.reloadEveryMs);
        await this.reload();
        continue;
      }
      if (now >= nextRead) {
        nextRead = now + within(p.readEveryMs);
        await this.read(q);
      }
      this.resolveConflicts(q);
      if (r.chance(0.75)) this.write(q, r);
    }
  }

  private write(q: WriteQueue, r: Rng): void {
    const live = [...this.mine.keys()];
    const marker = `${queueRowPrefix}${this.spec.index}-${++this.n}`;
    let entry: WriteEntry;
    if (live.length < 3 || (live.length < MAX_ROWS && r.chance(0.35))) {
      const rowId = uuidFrom(this.ids);
      entry = q.create(RESOURCE, { id: rowId, projectId: r.pick(this.spec.pinned), name: marker, kind: r.pick(kinds), source: `chaos://queue-${this.spec.index}/${this.n}`, visible: r.chance(0.5) });
      // A new row's version is 1: writes queued behind its create are made against it, and rebased onto what the answer says.
      this.mine.set(rowId, 1);
    } else if (r.chance(0.75)) {
      const rowId = r.pick(live);
      entry = q.update(RESOURCE, rowId, { name: marker, visible: r.chance(0.5) }, this.mine.get(rowId));
    } else {
      const rowId = r.pick(live);
      entry = q.remove(RESOURCE, rowId, this.mine.get(rowId));
      this.mine.delete(rowId);
      this.deleting.add(rowId);
    }
    this.track(entry);
  }

  private resolveConflicts(q: WriteQueue): void {
    for (const e of q.entries()) {
      if (e.state !== 'conflict') continue;
      const mine = this.choices.chance(0.5);
      if (!q.resolveConflict(e.id, mine ? 'mine' : 'theirs')) continue;
      const t = this.track(e);
      if (mine) {
        this.stats.keptMine++;
        t.state = 'queued';
      } else {
        this.stats.tookTheirs++;
        t.state = 'dropped';
      }
    }
  }

  /**
   * The rows as the API lists them now: the versions to write against, the rows gone
   * (deleted, moved out of the user's projects or given another key by a SQL writer), and
   * every write answered before the read confirmed (the queue's refetch path).
   */
  private async read(q: WriteQueue): Promise<void> {
    const t0 = Date.now();
    let items: { id: string; version?: number }[];
    try {
      const res = await this.net.get(`/api/${RESOURCE}?limit=500`, 3000);
      if (!res.ok) return void (await res.arrayBuffer().catch(() => undefined));
      items = ((await res.json()) as { items: { id: string; version?: number }[] }).items;
    } catch {
      return;
    }
    if (this.queue !== q) return;
    const listed = new Map(items.map((row) => [row.id, row.version] as const));
    for (const [rowId, c] of this.created) {
      if (this.deleting.has(rowId)) continue;
      const version = listed.get(rowId);
      if (typeof version === 'number') {
        if (this.mine.has(rowId)) this.saw(rowId, version);
        else this.mine.set(rowId, version);
      } else if (outcomeOf(c.state) === 'succeeded' && !q.pending(RESOURCE).some((e) => e.rowId === rowId)) {
        // Gone: nothing of this client's is waiting on it, and its create was answered before the read.
        this.mine.delete(rowId);
      }
    }
    q.confirmThrough(t0, RESOURCE);
  }
}
