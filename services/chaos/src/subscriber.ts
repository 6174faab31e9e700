// A subscriber as a browser tab runs it: signed in as a user (its own session cookie), a
// list read over HTTP with that cookie (rows and a cursor) or a replay from seq 0, then
// one subscription kept live by @realtime/client, the very code browsers run: its
// connection, token renewal, reconnect with backoff, resume from the last applied seq,
// and its reducer. On resync it reads the list again and starts over, as the React hook
// does. A subscriber holding the service token instead (every project, no session)
// starts over from seq 0. Every change it receives is kept, per subscription life (an
// "epoch"), for the checker.
import type { Socket } from 'socket.io-client';
import { createRealtime, reduce, type LiveList, type RealtimeClient, type Row } from '@realtime/client';
import type { ListPage } from '@realtime/protocol';
import { projectsOf, type Delivery } from './checker';
import type { SubscriberPlan } from './plan';
import { sleep } from './stack';
import { fetchToken, signIn } from './users';

export type SubSpec = SubscriberPlan;

/** Who a subscriber is: a user who signs in, or a backend holding a service token. */
export type Access = { kind: 'user'; userId: string; email: string; password: string } | { kind: 'service'; token: string };

export type EpochStart = { since: number } | { cursor: string };

export interface Epoch {
  start: EpochStart;
  received: Delivery[];
  /** Why it ended (a resync reason, or 'forbidden' for a refused subscribe), or null while it goes on. */
  endedBy: string | null;
}

// The API serves each streamed table of the schema under its name, with - for _.
const apiPath = (channel: string) => channel.replace(/_/g, '-');
const camel = (col: string) => col.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A list exactly as the API gives it to the signed-in user, narrowed to the filter, with its cursor. */
export async function fetchList(base: string, cookie: string, channel: string, filter: Record<string, string>): Promise<{ items: Row[]; cursor: string }> {
  const query = new URLSearchParams({ limit: '500' });
  // The API filters by any column, in the list's own snapshot, so the cursor describes
  // exactly these rows. A table that is its own project names its project by its key.
  for (const [col, v] of Object.entries(filter)) query.set(channel === 'projects' && col === 'project_id' ? 'id' : camel(col), v);
  const res = await fetch(`${base}/api/${apiPath(channel)}?${query}`, { headers: { cookie }, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${apiPath(channel)}: HTTP ${res.status}`);
  const body = (await res.json()) as ListPage<Row>;
  // One page: a second would be read in another snapshot than the cursor's.
  if (body.page.next !== null) throw new Error(`the ${channel} list is longer than one page of 500; the workload's caps must keep it shorter`);
  return { items: body.items, cursor: body.cursor };
}

/** Tries `fn` until it succeeds, `stop(err)` says to give up, or `attempts` run out (a gateway restarting answers nothing for a while). */
async function retry<T>(what: string, fn: () => Promise<T>, stop: (err: unknown) => boolean, attempts = 600, everyMs = 250): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (stop(err) || i >= attempts) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(everyMs);
    }
  }
}

export class Subscriber {
  readonly epochs: Epoch[] = [];
  list: LiveList = { items: [], seq: 0 };
  client: RealtimeClient<Socket> | null = null;
  resyncs = 0;
  /** Resyncs for a project gained or lost. */
  membershipResyncs = 0;
  /** Events for a subscription id the client did not hold (the client reports them). */
  strays = 0;
  /** The first stray events, as the subscriber's log tells them (the rest are counted). */
  readonly strayNotes: string[] = [];
  /** INTERNAL and RATE_LIMITED refusals, each asked again by the client. */
  refusals = 0;
  /** FORBIDDEN refusals of a user (the filter's project is not theirs), each asked again later. */
  forbidden = 0;
  /** Tokens renewed on the open socket (the `auth` event, acknowledged). */
  refreshes = 0;
  /** Tokens that ran out unrenewed: the gateway closed the socket, or refused a handshake with it. */
  expired = 0;
  subscribeErrors: string[] = [];
  /** Told the txids of every batch, as an app hands them to its write queue. */
  onTxids: ((txids: string[]) => void) | null = null;
  private cookie: string | null = null;
  /** The client's subscription, while there is one. */
  private unsubscribe: (() => void) | null = null;
  /** The subscription's `live` came since its last (re)subscribe. */
  private live = false;
  private refetching = false;
  private parked = false;
  private closed = false;
  private stallOnConnect = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private parkTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly spec: SubSpec,
    private readonly base: string,
    readonly access: Access,
    /** The channel's project column (from the catalog), null for a table without one. */
    private readonly projectColumn: string | null,
    /** A line for the run's subscriber log: what the connection did, for reading a failed run. */
    private readonly note: (line: string) => void = () => undefined,
  ) {}

  get label(): string {
    const f = Object.entries(this.spec.filter).map(([k, v]) => `${k}=${v.slice(0, 8)}`).join(',');
    const who = this.access.kind === 'user' ? this.access.email : 'service token';
    return `subscriber ${this.spec.index} (${who}${this.spec.renews ? '' : ' renewing no token'}, ${this.spec.channel}${f ? ` ${f}` : ''}, ${this.spec.start})`;
  }

  get userId(): string | null {
    return this.access.kind === 'user' ? this.access.userId : null;
  }

  get socket(): Socket | null {
    return this.client?.socket ?? null;
  }

  get joined(): boolean {
    return this.client !== null;
  }

  /** Subscribed, replay done, nothing pending: what it has is what the server has sent. */
  get isLive(): boolean {
    return this.live && !this.refetching && !this.parked && this.unsubscribe !== null && this.client?.connection.status === 'live';
  }

  /** Its last subscribe was refused (FORBIDDEN); it asks again now and then. */
  get refused(): boolean {
    return this.current?.endedBy === 'forbidden';
  }

  get current(): Epoch | undefined {
    return this.epochs.at(-1);
  }

  /** The session cookie a user subscriber signed in with, for the checker's fresh read. */
  get session(): string | null {
    return this.cookie;
  }

  async join(): Promise<void> {
    const a = this.access;
    if (a.kind === 'user') this.cookie = await retry(`sign-in of ${a.email}`, () => signIn(this.base, a.email, a.password), () => this.closed);
    if (this.spec.start === 'list' && a.kind === 'user') await this.refetch();
    else this.epochs.push({ start: { since: 0 }, received: [], endedBy: null });
    const cookie = this.cookie;
    let held: { token: string; expiresAt: number } | null = null;
    const client = createRealtime({
      url: this.base,
      // A failed token request (the API restarting) is a failed attempt, retried with backoff.
      getToken: async () => {
        if (this.closed) return null;
        if (a.kind === 'service') return { token: a.token, expiresAt: Date.now() + 24 * 3600_000 };
        // The tab that renews nothing keeps its token across reconnects while it has time
        // left (the client would fetch a fresh one, the run's tokens being short), so that
        // it does run out within the run and the gateway closes it.
        if (!this.spec.renews && held && held.expiresAt - Date.now() > 10_000) return held;
        held = await fetchToken(this.base, cookie!);
        return held;
      },
      // A gateway restart lasts a few seconds: come back within two, as a tab on a good network would.
      backoff: { baseMs: 200, maxMs: 2000 },
      renew: this.spec.renews,
    });
    this.client = client;
    client.on('renewed', () => {
      this.refreshes++;
      this.note('token renewed on the open socket');
    });
    client.on('unauthorized', (e) => {
      this.note(e.during === 'connection' ? 'told unauthorized: the token expired' : `handshake refused: ${e.message}`);
      // Reconnecting with a token that ran out meanwhile: refused, as it must be.
      if (e.during === 'connection' || /expired/.test(e.message)) this.expired++;
    });
    client.on('stray', (kind, sub) => {
      this.strays++;
      if (this.strayNotes.length < 3) this.strayNotes.push(`${new Date().toISOString()} ${this.label}: ${kind} for subscription ${sub}`);
      this.note(`${kind} for subscription ${sub}, which this client does not hold`);
    });
    client.onState((st) => {
      if (st.status !== 'live') this.live = false;
    });
    const socket = client.socket;
    socket.on('connect', () => {
      this.note('connected');
      if (this.stallOnConnect) this.stallFor(this.stallOnConnect);
      this.stallOnConnect = 0;
    });
    socket.on('disconnect', (reason) => this.note(`disconnected: ${reason}`));
    socket.on('connect_error', (err) => this.note(`connection refused or failed: ${err.message}`));
    client.start();
    this.subscribe();
  }

  /** Drops the connection as a flaky network does, and comes back after `ms`. */
  dropFor(ms: number): boolean {
    if (!this.client?.socket.connected) return false;
    this.client.dropFor(ms);
    return true;
  }

  /** Takes the connection down (connected or not) and comes back after `ms`, trying until a gateway answers. */
  offlineFor(ms: number): boolean {
    if (!this.client) return false;
    this.client.dropFor(ms);
    return true;
  }

  /**
   * A client on a link that stops: it reconnects, subscribes and then reads nothing for
   * `ms`. A fresh connection's kernel buffers are small (they grow only while the reader
   * keeps up), so the gateway's own queue for it soon passes its bound.
   */
  reconnectStalled(ms: number): boolean {
    if (!this.client?.socket.connected) return false;
    this.stallOnConnect = ms;
    this.client.dropFor(0);
    return true;
  }

  /** Stops reading from the socket for `ms`: the gateway's queue for it grows. */
  stallFor(ms: number): boolean {
    const engine = (this.client?.socket.io as unknown as { engine?: { transport?: { ws?: { _socket?: { pause(): void; resume(): void } } } } })?.engine;
    const raw = engine?.transport?.ws?._socket;
    if (!raw) return false;
    raw.pause();
    setTimeout(() => raw.resume(), ms);
    return true;
  }

  close(): void {
    this.closed = true;
    for (const t of [this.retryTimer, this.parkTimer]) clearTimeout(t);
    this.client?.stop();
  }

  /** As the web hook: the last applied seq, with the list's cursor when it began from one. */
  private resume(): { since: number } | { cursor: string } | { since: number; cursor: string } {
    const start = this.current!.start;
    if (this.list.seq === 0) return start;
    return 'cursor' in start ? { since: this.list.seq, cursor: start.cursor } : { since: this.list.seq };
  }

  private subscribe(): void {
    clearTimeout(this.retryTimer);
    const client = this.client;
    // One subscription at a time.
    if (!client || this.unsubscribe || this.refetching || this.parked || this.closed) return;
    const drop = () => {
      this.unsubscribe?.();
      this.unsubscribe = null;
      this.live = false;
    };
    this.unsubscribe = client.subscribe(
      { channel: this.spec.channel, filter: Object.keys(this.spec.filter).length ? this.spec.filter : undefined, resume: () => this.resume() },
      {
        onSubscribed: (headSeq) => {
          this.live = false;
          this.note(`subscribed at head ${headSeq} (${JSON.stringify(this.resume())})`);
        },
        onChanges: (events) => {
          const epoch = this.current!;
          const field = this.projectColumn === null ? null : camel(this.projectColumn);
          for (const c of events) epoch.received.push({ seq: c.seq, projects: projectsOf(field, [c.row, c.old]) });
          this.list = reduce(this.list, events);
          this.onTxids?.(events.flatMap((c) => (c.txid ? [c.txid] : [])));
        },
        onLive: (seq) => {
          this.note(`live at seq ${seq}`);
          this.live = true;
        },
        onResync: (reason) => {
          this.note(`resync: ${reason}`);
          this.current!.endedBy = reason;
          this.resyncs++;
          if (reason === 'membership') this.membershipResyncs++;
          drop();
          void this.restart();
        },
        onError: (message, code) => {
          this.note(`subscribe refused: ${message}`);
          if (code === 'FORBIDDEN' && this.access.kind === 'user') {
            drop();
            return this.park();
          }
          // INTERNAL (the gateway's database was away) and RATE_LIMITED (a burst of
          // resubscribes): the client asks again. Any other code is a failure.
          if (code === 'INTERNAL' || code === 'RATE_LIMITED') {
            this.refusals++;
            return;
          }
          this.subscribeErrors.push(message);
          drop();
          this.retryTimer = setTimeout(() => this.subscribe(), 500);
        },
      },
    );
  }

  /**
   * Refused: the filter names a project the user does not hold (now). The epoch ends
   * owing nothing more; a while later it starts over from a fresh list, since a grant
   * may have come meanwhile.
   */
  private park(): void {
    this.forbidden++;
    this.current!.endedBy ??= 'forbidden';
    this.parked = true;
    this.parkTimer = setTimeout(() => {
      this.parked = false;
      void this.restart();
    }, 2000 + Math.random() * 2000);
  }

  /** After resync or a refusal, as the hook does: read the list again and start over from its cursor. */
  private async restart(): Promise<void> {
    try {
      await this.refetch();
      this.subscribe();
    } catch (err) {
      this.subscribeErrors.push(`refetch after resync failed: ${(err as Error).message}`);
    }
  }

  private async refetch(): Promise<void> {
    if (this.access.kind === 'service') {
      // No session, so no list: an empty cache and a replay of everything.
      this.list = { items: [], seq: 0 };
      this.epochs.push({ start: { since: 0 }, received: [], endedBy: null });
      return;
    }
    this.refetching = true;
    try {
      const cookie = this.cookie!;
      const { items, cursor } = await retry(`the ${this.spec.channel} list`, () => fetchList(this.base, cookie, this.spec.channel, this.spec.filter), (err) => this.closed || /longer than one page/.test(String(err)));
      this.list = { items, seq: 0 };
      this.epochs.push({ start: { cursor }, received: [], endedBy: null });
    } finally {
      this.refetching = false;
    }
  }
}

/**
 * A tab opened right after one of its user's revocations: a fresh connection (the user's
 * first on that gateway when the user has no other there), one live subscription to every
 * row the user may see, for a few seconds. The gateway builds a first socket's membership
 * at connect, while the revocation may still be on its way to the outbox: whatever this
 * socket receives must be the user's at its seq. Only authorization is asked of it (a
 * plain live subscription owes no particular seqs), and only of its first connection.
 */
export class FreshSocket {
  /** Each with the history it came from (`era()` when it arrived: a restore begins another). */
  readonly received: (Delivery & { era: number })[] = [];
  /** Why it stopped listening before its time (a lost connection, a refusal), if it did. */
  cut: string | null = null;

  constructor(
    readonly userId: string,
    /** The revocation it follows. */
    readonly after: { projectId: string },
    private readonly base: string,
    private readonly cookie: string,
    readonly channel: string,
    private readonly projectColumn: string | null,
    private readonly note: (line: string) => void = () => undefined,
    private readonly era: () => number = () => 0,
  ) {}

  get label(): string {
    return `fresh socket of ${this.userId.slice(0, 8)} after its revocation from ${this.after.projectId.slice(0, 8)} (${this.channel})`;
  }

  async run(ms: number): Promise<void> {
    const client = createRealtime({
      url: this.base,
      getToken: async () => fetchToken(this.base, this.cookie),
      backoff: { baseMs: 200, maxMs: 2000 },
    });
    let listening = true;
    const stop = (why: string) => {
      if (listening && why) this.cut = why;
      listening = false;
    };
    client.socket.on('disconnect', (reason) => stop(`disconnected: ${reason}`));
    client.start();
    const field = this.projectColumn === null ? null : camel(this.projectColumn);
    const unsubscribe = client.subscribe(
      { channel: this.channel, resume: () => ({}) },
      {
        onChanges: (events) => {
          if (!listening) return;
          const era = this.era();
          for (const c of events) this.received.push({ seq: c.seq, projects: projectsOf(field, [c.row, c.old]), era });
        },
        onResync: (reason) => {
          this.note(`${this.label}: resync ${reason}`);
          stop(`resync ${reason}`);
        },
        onError: (message) => stop(`refused: ${message}`),
      },
    );
    await sleep(ms);
    stop('');
    unsubscribe();
    client.stop();
  }
}
