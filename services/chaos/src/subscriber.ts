// A subscriber as a browser tab runs it: signed in as a user (its own session cookie), a
// list read over HTTP with that cookie (rows and a cursor) or a replay from seq 0, then
// one socket.io-client subscription kept live with a realtime token it renews before it
// ends. Like the web hook it resumes from the last applied seq after a reconnect,
// refetches on resync, and applies changes with the web app's own reducer. A subscriber
// holding the service token instead (every project, no session) starts over from seq 0.
// Every change it receives is kept, per subscription life (an "epoch"), for the checker.
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, WS_PATH, unbatch, type AuthAck, type ChangeEvent, type ChangesEvent, type LiveEvent, type ResyncEvent, type SubscribeAck } from '@realtime/protocol';
import { reduce, type LiveList, type Row } from '@realtime/web/src/realtime/reducer';
import { projectsOf, type Delivery } from './checker';
import type { SubscriberPlan } from './plan';
import { sleep } from './stack';
import { fetchToken, refreshDelay, signIn, type RealtimeToken } from './users';

export type SubSpec = SubscriberPlan;

/** Who a subscriber is: a user who signs in, or a backend holding a service token. */
export type Access = { kind: 'user'; userId: string; email: string; password: string } | { kind: 'service'; token: string };

interface Held {
  kind: 'change' | 'live' | 'resync';
  event: ChangeEvent | LiveEvent | ResyncEvent;
}

export type EpochStart = { since: number } | { cursor: string };

export interface Epoch {
  start: EpochStart;
  received: Delivery[];
  /** Why it ended (a resync reason, or 'forbidden' for a refused subscribe), or null while it goes on. */
  endedBy: string | null;
}

const apiPath: Record<string, string> = {
  projects: 'projects',
  extraction_jobs: 'extraction-jobs',
  extraction_results: 'extraction-results',
  data_layers: 'data-layers',
  supplier_matches: 'supplier-matches',
};
const camel = (col: string) => col.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A list exactly as the API gives it to the signed-in user, narrowed to the filter, with its cursor. */
export async function fetchList(base: string, cookie: string, channel: string, filter: Record<string, string>): Promise<{ items: Row[]; cursor: string }> {
  const query = new URLSearchParams({ limit: '500' });
  // The API narrows children by project; any other filter column is applied here, on
  // the same snapshot, so the cursor still describes exactly these rows.
  if (filter.project_id && channel !== 'projects') query.set('projectId', filter.project_id);
  const res = await fetch(`${base}/api/${apiPath[channel]}?${query}`, { headers: { cookie }, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${apiPath[channel]}: HTTP ${res.status}`);
  const body = (await res.json()) as { items: Row[]; cursor: string; page: { nextOffset: number | null } };
  if (body.page.nextOffset !== null) throw new Error(`the ${channel} list is longer than one page of 500; the workload's caps must keep it shorter`);
  const items = body.items.filter((row) => Object.entries(filter).every(([col, v]) => String(row[camel(col)]) === v));
  return { items, cursor: body.cursor };
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
  socket: Socket | null = null;
  resyncs = 0;
  /** Resyncs for a project gained or lost. */
  membershipResyncs = 0;
  strays = 0;
  /** INTERNAL refusals, each asked again. */
  refusals = 0;
  /** FORBIDDEN refusals of a user (the filter's project is not theirs), each asked again later. */
  forbidden = 0;
  /** Tokens renewed on the open socket (the `auth` event, acknowledged). */
  refreshes = 0;
  /** Tokens that ran out unrenewed: the gateway closed the socket, or refused a handshake with it. */
  expired = 0;
  subscribeErrors: string[] = [];
  private cookie: string | null = null;
  private token: RealtimeToken | null = null;
  private serverId: string | null = null;
  private live = false;
  private refetching = false;
  private parked = false;
  private reconnecting = false;
  private early: Held[] = [];
  private closed = false;
  private stallOnConnect = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private parkTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly spec: SubSpec,
    private readonly base: string,
    readonly access: Access,
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

  get joined(): boolean {
    return this.socket !== null;
  }

  /** Subscribed, replay done, nothing pending: what it has is what the server has sent. */
  get isLive(): boolean {
    return this.live && !this.refetching && !this.parked && this.serverId !== null;
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
    if (a.kind === 'user') {
      this.cookie = await retry(`sign-in of ${a.email}`, () => signIn(this.base, a.email, a.password), () => this.closed);
      await this.renewToken();
    }
    if (this.spec.start === 'list' && a.kind === 'user') await this.refetch();
    else this.epochs.push({ start: { since: 0 }, received: [], endedBy: null });
    const socket = io(this.base, {
      path: WS_PATH,
      transports: ['websocket'],
      // Asked at every (re)connection: the handshake always carries the newest token.
      auth: (cb) => cb({ token: a.kind === 'user' ? this.token!.token : a.token, v: PROTOCOL_VERSION }),
      reconnectionDelay: 200,
      reconnectionDelayMax: 2000,
      forceNew: true,
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.note('connected');
      this.subscribe();
      if (this.stallOnConnect) this.stallFor(this.stallOnConnect);
      this.stallOnConnect = 0;
    });
    socket.on('disconnect', (reason) => {
      this.note(`disconnected: ${reason}`);
      this.serverId = null;
      this.live = false;
      this.early = [];
      // Closed by the server (an expired token): socket.io does not reconnect by itself.
      if (reason === 'io server disconnect') this.reconnect();
    });
    // A handshake refused by the gateway (an expired token, memberships it could not
    // read) is not retried by socket.io either.
    socket.on('connect_error', (err) => {
      this.note(`connection refused or failed (${socket.active ? 'socket.io retries' : 'connecting again'}): ${err.message}`);
      // Reconnecting with a token that ran out meanwhile: refused, as it must be.
      if (/expired/.test(err.message)) this.expired++;
      if (!socket.active) this.reconnect();
    });
    socket.on('unauthorized', () => {
      this.note('told unauthorized: the token expired');
      this.expired++;
    });
    // A batch is this subscription's changes in seq order: taken one by one, as before.
    socket.on('changes', (b: ChangesEvent) => {
      for (const e of unbatch(b)) this.route('change', e);
    });
    socket.on('live', (e: LiveEvent) => this.route('live', e));
    socket.on('resync', (e: ResyncEvent) => this.route('resync', e));
  }

  /** Drops the connection as a flaky network does, and comes back after `ms`. */
  dropFor(ms: number): boolean {
    const s = this.socket;
    if (!s?.connected) return false;
    s.disconnect();
    setTimeout(() => {
      if (!this.closed) s.connect();
    }, ms);
    return true;
  }

  /**
   * A client on a link that stops: it reconnects, subscribes and then reads nothing for
   * `ms`. A fresh connection's kernel buffers are small (they grow only while the reader
   * keeps up), so the gateway's own queue for it soon passes its bound.
   */
  reconnectStalled(ms: number): boolean {
    const s = this.socket;
    if (!s?.connected) return false;
    this.stallOnConnect = ms;
    s.disconnect();
    s.connect();
    return true;
  }

  /** Stops reading from the socket for `ms`: the gateway's queue for it grows. */
  stallFor(ms: number): boolean {
    const engine = (this.socket?.io as unknown as { engine?: { transport?: { ws?: { _socket?: { pause(): void; resume(): void } } } } })?.engine;
    const raw = engine?.transport?.ws?._socket;
    if (!raw) return false;
    raw.pause();
    setTimeout(() => raw.resume(), ms);
    return true;
  }

  close(): void {
    this.closed = true;
    for (const t of [this.retryTimer, this.parkTimer, this.refreshTimer]) clearTimeout(t);
    this.socket?.disconnect();
  }

  /** A fresh token from the API with the session cookie, and the next renewal planned. */
  private async renewToken(): Promise<void> {
    const cookie = this.cookie!;
    this.token = await retry('GET /api/realtime/token', () => fetchToken(this.base, cookie), () => this.closed);
    clearTimeout(this.refreshTimer);
    if (!this.closed && this.spec.renews) this.refreshTimer = setTimeout(() => void this.refresh(), refreshDelay(this.token.issuedAt, this.token.expiresAt, Date.now()));
  }

  /** Renews the token of the open socket (the `auth` event): its subscriptions go on untouched. */
  private async refresh(): Promise<void> {
    try {
      await this.renewToken();
    } catch {
      return; // Closed meanwhile, or the API unreachable for minutes: the expiry handling reconnects.
    }
    const socket = this.socket;
    // Not connected: the next handshake carries the new token.
    if (!socket?.connected) return;
    try {
      const ack = (await socket.timeout(5000).emitWithAck('auth', { token: this.token!.token })) as AuthAck;
      if (ack.ok) {
        this.refreshes++;
        this.note('token renewed on the open socket');
      } else this.subscribeErrors.push(`token renewal refused: ${ack.error.code}: ${ack.error.message}`);
    } catch {
      // No answer (the connection dropped): the next handshake carries the new token.
    }
  }

  /** Connects again after the server closed or refused it, with a token that has time left. */
  private reconnect(): void {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    void (async () => {
      await sleep(300);
      try {
        if (this.access.kind === 'user' && this.token!.expiresAt - Date.now() < 10_000) await this.renewToken();
      } catch {
        // Closed meanwhile.
      }
      this.reconnecting = false;
      const s = this.socket;
      if (s && !this.closed && !s.connected && !s.active) s.connect();
    })();
  }

  /** As the web hook: the last applied seq, with the list's cursor when it began from one. */
  private resume(): { since?: number; cursor?: string } {
    const start = this.current!.start;
    if (this.list.seq === 0) return start;
    return 'cursor' in start ? { since: this.list.seq, cursor: start.cursor } : { since: this.list.seq };
  }

  private subscribe(): void {
    // One request at a time: a retry still pending would open a second subscription.
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (!socket?.connected || this.refetching || this.parked || this.closed) return;
    const request = { channel: this.spec.channel, ...(Object.keys(this.spec.filter).length ? { filter: this.spec.filter } : {}), ...this.resume() };
    socket.emit('subscribe', request, (ack: SubscribeAck) => {
      if (!ack.ok) {
        this.note(`subscribe refused: ${ack.error.code}: ${ack.error.message}`);
        if (ack.error.code === 'FORBIDDEN' && this.access.kind === 'user') return this.park();
        // INTERNAL (the gateway's database was away) and RATE_LIMITED (a burst of
        // resubscribes) ask to try again; any other code is a failure.
        if (ack.error.code === 'INTERNAL' || ack.error.code === 'RATE_LIMITED') this.refusals++;
        else this.subscribeErrors.push(`${ack.error.code}: ${ack.error.message}`);
        this.retryTimer = setTimeout(() => this.subscribe(), 500);
        return;
      }
      if (socket !== this.socket || !socket.connected) return;
      this.note(`subscribed as ${ack.id} (${JSON.stringify(this.resume())})`);
      this.serverId = ack.id;
      const held = this.early;
      this.early = [];
      for (const h of held) this.route(h.kind, h.event);
    });
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

  private route(kind: Held['kind'], e: Held['event']): void {
    if (this.serverId === null) {
      // The ack's callback may come after the subscription's first events.
      this.early.push({ kind, event: e });
      return;
    }
    if (e.sub !== this.serverId) {
      this.strays++;
      return;
    }
    if (kind === 'change') {
      const c = e as ChangeEvent;
      this.current!.received.push({ seq: c.seq, projects: projectsOf(c.channel, [c.row, c.old]) });
      this.list = reduce(this.list, [c]);
    } else if (kind === 'live') {
      this.note(`live at seq ${(e as LiveEvent).seq}`);
      this.live = true;
    } else {
      const reason = (e as ResyncEvent).reason;
      this.note(`resync: ${reason} at head ${(e as ResyncEvent).headSeq}`);
      this.current!.endedBy = reason;
      this.resyncs++;
      if (reason === 'membership') this.membershipResyncs++;
      this.serverId = null;
      this.live = false;
      void this.restart();
    }
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
