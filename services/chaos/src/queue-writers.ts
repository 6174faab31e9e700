// Clients that write through the durable write queue (@realtime/client's createWriteQueue),
// as a browser tab of a signed-in user does, over a network that fails them: requests
// that never leave, answers lost after the server applied the write, slow answers,
// spells with no network at all, and reloads (the queue closed and made again over the
// same store, what a reload does with IndexedDB). Each client creates, updates and
// deletes data_layers rows in the pinned projects, every write with a marker of its own
// (checker.ts, checkQueueWrites), so that the outbox says how many times each write the
// queue was given was applied, whatever the queue believes.
import { createWriteQueue, memoryStorage, type MemoryStorage, type WriteEntry, type WriteEvent, type WriteQueue } from '@realtime/client';
import type { Logger } from '@realtime/runtime';
import type { IntendedWrite, QueueOutcome, WriteKind } from './checker';
import type { Rng } from './rng';
import { sleep } from './stack';
import { signIn } from './users';
import { queueRowPrefix } from './workload';

export const RESOURCE = 'data-layers';
/** The rows a client keeps alive at most: the table stays within the workload's caps and the API's one-page lists. */
const MAX_ROWS = 10;
const kinds = ['vector', 'raster', 'table', 'document'] as const;

/** A uuid (v4 layout) from the seeded generator: the same seed gives the same keys and row ids. */
export function uuidFrom(r: Rng): string {
  const h = Array.from({ length: 4 }, () => Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0')).join('');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface NetFaults {
  /** A request that fails before it leaves: the server never sees it. */
  fail: number;
  /** A request the server answers, whose answer is thrown away: applied, and the client cannot know. */
  lose: number;
  /** A request held back a while before it leaves. */
  delay: number;
  delayMs: readonly [number, number];
}

export const defaultNetFaults: NetFaults = { fail: 0.08, lose: 0.1, delay: 0.15, delayMs: [50, 800] };
export const noNetFaults: NetFaults = { fail: 0, lose: 0, delay: 0, delayMs: [0, 0] };

export interface NetStats {
  requests: number;
  failedBeforeSending: number;
  /** Answers thrown away, by the roll or by a disconnect while the request was out. */
  lostResponses: number;
  delayed: number;
  /** Requests failed because the client was offline. */
  offline: number;
}

/** The error fetch throws for a network failure (undici's is a TypeError too). */
const networkError = (why: string) => new TypeError(`fetch failed: ${why} (chaos)`);

/** `p`, or the signal's reason as soon as it aborts (`p` itself goes on). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * One client's network: each request goes to one of the gateways (a load balancer's
 * choice) with the client's session cookie, and may fail, lose its answer or be delayed,
 * as the seeded roll says; while offline, everything fails. Three draws a request,
 * always, so that the sequence of rolls depends on the number of requests only.
 *
 * Each request has a connection of its own (`Connection: close`), so that a request's
 * fate is its own roll's, not that of a connection another client's request broke. (A
 * keep-alive connection kept busy used to hold a gateway's stop until SIGKILL; the
 * gateway now closes it after STOP_GRACE_MS.)
 *
 * `pause` holds every request back and waits for those on the wire: the restore fault
 * takes a backup and puts it back meanwhile, and a write the backup does not hold, the
 * restore takes away, acknowledged or not: no client can be promised that.
 */
export class FaultyNetwork {
  readonly stats: NetStats = { requests: 0, failedBeforeSending: 0, lostResponses: 0, delayed: 0, offline: 0 };
  faults: NetFaults = defaultNetFaults;
  private offlineUntil = 0;
  /** Bumped by every disconnect: a request out across one loses its answer. */
  private drops = 0;
  private gate: { closed: Promise<void>; open: () => void } | null = null;
  private onWire = 0;

  constructor(
    private readonly r: Rng,
    private readonly gateways: readonly string[],
    private readonly cookie: () => string,
    private readonly send: typeof globalThis.fetch = globalThis.fetch,
    private readonly now: () => number = Date.now,
  ) {}

  get offline(): boolean {
    return this.now() < this.offlineUntil;
  }

  offlineFor(ms: number): void {
    this.offlineUntil = this.now() + ms;
    if (ms > 0) this.drops++;
  }

  get paused(): boolean {
    return this.gate !== null;
  }

  async pause(): Promise<void> {
    if (!this.gate) {
      let open = () => undefined as void;
      const closed = new Promise<void>((resolve) => (open = resolve));
      this.gate = { closed, open };
    }
    while (this.onWire > 0) await sleep(10);
  }

  resume(): void {
    this.gate?.open();
    this.gate = null;
  }

  /** The queue's fetch. */
  readonly fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    this.stats.requests++;
    const roll = this.r();
    const delayMs = this.r.int(this.faults.delayMs[0], this.faults.delayMs[1]);
    const base = this.gateways[this.r.int(0, this.gateways.length - 1)]!;
    const { fail, lose, delay } = this.faults;
    await this.whenOpen(init.signal);
    if (roll < fail + delay && roll >= fail) {
      this.stats.delayed++;
      await abortable(sleep(delayMs), init.signal);
      await this.whenOpen(init.signal);
    }
    if (this.offline) {
      this.stats.offline++;
      throw networkError('offline');
    }
    if (roll < fail) {
      this.stats.failedBeforeSending++;
      throw networkError('the connection was reset before the request went out');
    }
    const u = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    headers.set('cookie', this.cookie());
    headers.set('connection', 'close');
    const drops = this.drops;
    // The request goes on when the client stops waiting for it (its timeout, a reload): the
    // server may still apply it, and pause() must wait for that too.
    this.onWire++;
    const out = this.send(`${base}${u.pathname}${u.search}`, { ...init, headers, signal: AbortSignal.timeout(60_000) }).finally(() => this.onWire--);
    let res: Response;
    try {
      res = await abortable(out, init.signal);
    } catch (err) {
      out.then((late) => late.body?.cancel(), () => undefined).catch(() => undefined);
      throw err;
    }
    const lost = roll >= fail + delay && roll < fail + delay + lose;
    if (lost || this.drops !== drops) {
      await res.arrayBuffer().catch(() => undefined);
      this.stats.lostResponses++;
      throw networkError(lost ? 'the connection dropped before the answer arrived' : 'the network went away while the answer was on its way');
    }
    return res;
  };

  /** A GET with the cookie, held back and failed like the rest but never lost on purpose (lists only read). */
  async get(path: string, timeoutMs: number): Promise<Response> {
    const signal = AbortSignal.timeout(timeoutMs);
    await this.whenOpen(signal);
    if (this.offline) throw networkError('offline');
    const headers = { cookie: this.cookie(), connection: 'close' };
    return this.send(`${this.gateways[0]!}${path}`, { headers, signal }).catch(async (err: unknown) => {
      // The first gateway may be the one restarting.
      if (this.gateways.length < 2 || signal.aborted) throw err;
      return this.send(`${this.gateways[1]!}${path}`, { headers, signal });
    });
  }

  private async whenOpen(signal: AbortSignal | null | undefined): Promise<void> {
    while (this.gate) await abortable(this.gate.closed, signal);
  }
}

/** One write as the client made it, and what its queue has said of it since. */
interface Tracked {
  id: string;
  kind: WriteKind;
  rowId: string;
  marker: string | null;
  state: WriteEntry['state'] | 'dropped';
  status?: number;
  txid?: string;
}

export interface QueueStats {
  retries: number;
  conflicts: number;
  keptMine: number;
  tookTheirs: number;
  rebased: number;
  disconnects: number;
  restarts: number;
  /** 401s: the queue paused until a sign-in (a session never ends within a run, so none are expected). */
  unauthorized: number;
  confirmed: Record<'response' | 'stream' | 'refetch' | 'expired', number>;
}

/** How often a client writes, goes offline (and for how long), reloads and reads its list: [min, max] ms. */
export interface QueueWriterPace {
  tickMs: readonly [number, number];
  onlineMs: readonly [number, number];
  offlineMs: readonly [number, number];
  reloadEveryMs: readonly [number, number];
  readEveryMs: readonly [number, number];
}

export const defaultPace: QueueWriterPace = { tickMs: [100, 450], onlineMs: [3000, 12000], offlineMs: [500, 4000], reloadEveryMs: [6000, 15000], readEveryMs: [1000, 3000] };

export interface QueueWriterSpec {
  index: number;
  email: string;
  password: string;
  /** Base URLs of the gateways, which serve the API. */
  gateways: readonly string[];
  pinned: readonly string[];
}

/** The outcome a queue's state means for the checker. */
export function outcomeOf(state: Tracked['state']): QueueOutcome {
  switch (state) {
    case 'sent':
    case 'confirmed':
      return 'succeeded';
    case 'failed':
      return 'refused';
    case 'dropped':
      return 'dropped';
    default:
      return 'pending';
  }
}

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

export interface QueueWritersStats extends QueueStats, NetStats {
  clients: number;
}

/** The run's queue clients, started, paused and drained together. */
export class QueueWriters {
  readonly writers: QueueWriter[];

  constructor(specs: readonly QueueWriterSpec[], r: Rng, log: Logger, note: (line: string) => void = () => undefined) {
    this.writers = specs.map((spec) => new QueueWriter(spec, r.fork(10 + spec.index), log, (line) => note(`queue writer ${spec.index} (${spec.email}): ${line}`)));
  }

  async start(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.stop()));
  }

  /** True when every queue settled by the deadline. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    return (await Promise.all(this.writers.map((w) => w.drain(until)))).every(Boolean);
  }

  async pause(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.pause()));
  }

  resume(): void {
    for (const w of this.writers) w.resume();
  }

  confirmTxids(txids: readonly string[]): void {
    for (const w of this.writers) w.confirmTxids(txids);
  }

  intended(): IntendedWrite[] {
    return this.writers.flatMap((w) => w.intended());
  }

  get actors(): string[] {
    return this.writers.map((w) => w.actor);
  }

  get stats(): QueueWritersStats {
    const total: QueueWritersStats = {
      clients: this.writers.length,
      retries: 0,
      conflicts: 0,
      keptMine: 0,
      tookTheirs: 0,
      rebased: 0,
      disconnects: 0,
      restarts: 0,
      unauthorized: 0,
      confirmed: { response: 0, stream: 0, refetch: 0, expired: 0 },
      requests: 0,
      failedBeforeSending: 0,
      lostResponses: 0,
      delayed: 0,
      offline: 0,
    };
    for (const w of this.writers) {
      for (const k of ['retries', 'conflicts', 'keptMine', 'tookTheirs', 'rebased', 'disconnects', 'restarts', 'unauthorized'] as const) total[k] += w.stats[k];
      for (const k of ['requests', 'failedBeforeSending', 'lostResponses', 'delayed', 'offline'] as const) total[k] += w.net.stats[k];
      for (const k of Object.keys(total.confirmed) as (keyof QueueStats['confirmed'])[]) total.confirmed[k] += w.stats.confirmed[k];
    }
    return total;
  }

  async close(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.close()));
  }
}
