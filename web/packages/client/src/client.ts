// One Socket.IO connection per app and every subscription on it. Framework-free, with
// the socket, timers, clock and randomness injected, so that reconnection is tested with
// fake timers and a fake socket. It reconnects with backoff (up to 30 s), resubscribes
// each subscription from where it stopped, renews its token on the open socket before it
// expires, and reports the connection's state. It tries again at once when the browser
// says the network is back or the tab is shown again, and backs off only after failures.
import { PROTOCOL_VERSION, isSessionEnd, unbatch, type AuthAck, type ChangeEvent, type ChangesEvent, type ErrorCode, type Filter, type LiveEvent, type ResyncEvent, type SubscribeAck, type UnauthorizedReason } from '@realtime/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { isDev } from './dev.js';

export interface SocketLike {
  connected: boolean;
  /** The handshake's payload, read at each connect(). */
  auth?: unknown;
  connect(): unknown;
  disconnect(): unknown;
  on(event: string, fn: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type Status = 'connecting' | 'catching-up' | 'live' | 'offline';

export interface ConnectionState {
  status: Status;
  /** Changes received by subscriptions still replaying. */
  catchingUp: number;
  /** How many changes the last catch-up brought. */
  lastCatchUp: number;
  /** Reconnection attempts since the connection was lost. */
  attempt: number;
  /**
   * While catching up: how many changes of the stream lie between the subscriptions'
   * positions and the head their acks reported (the furthest behind; an upper bound for
   * a filtered subscription). 0 otherwise.
   */
  behind: number;
  /**
   * While offline: when the client last heard from the server (an ack, a batch, a
   * heartbeat), i.e. the moment its data is known current as of, in ms since the epoch;
   * null while connected or if it never heard anything.
   */
  dataAt: number | null;
  /** While offline: since when, in ms since the epoch (null while connected). */
  offlineSince: number | null;
}

/** An event target as the client uses one; the browser's window and document are. */
export interface EventTargetLike {
  addEventListener(type: string, fn: () => void): void;
  removeEventListener(type: string, fn: () => void): void;
}

/**
 * Where the client hears that reconnecting is worth trying now: the window's `online` and
 * the document's `visibilitychange`. Absent (Node, a worker without a document): only the
 * backoff.
 */
export interface ClientEnvironment {
  window?: EventTargetLike | null;
  document?: (EventTargetLike & { readonly visibilityState?: string }) | null;
}

function browserEnvironment(): ClientEnvironment {
  const g = globalThis as { window?: EventTargetLike; document?: EventTargetLike & { visibilityState?: string } };
  const usable = (t: EventTargetLike | undefined) => (t && typeof t.addEventListener === 'function' ? t : null);
  return { window: usable(g.window), document: usable(g.document) as ClientEnvironment['document'] };
}

/** A realtime token; `expiresAt` in milliseconds since the epoch. */
export interface RealtimeToken {
  token: string;
  expiresAt: number;
}

/** Fetches a token for the handshake and for renewals; null means signed out (the client stops). */
export type TokenSource = () => Promise<RealtimeToken | null>;

/** Shortest wait before a renewal, so that a clock far off the server's cannot make it spin. */
const MIN_REFRESH_MS = 10_000;

/** When to renew a token: a minute before it expires, or at 80% of what is left if that is earlier. */
export function refreshDelay(expiresAt: number, now: number): number {
  const left = expiresAt - now;
  return Math.max(MIN_REFRESH_MS, Math.round(Math.min(left - 60_000, left * 0.8)));
}

/**
 * Where a subscription (re)starts: the list's cursor, the last seq it applied, or both.
 * `fp` is the fingerprint of the change at `since` (its `fp`): leave it out and the client
 * adds the one it saw with that seq; a `since` whose fingerprint neither knows is sent
 * without one, and the gateway answers `resync` (a refetch) rather than replay unchecked.
 */
export type Resume = { cursor: string; since?: number; fp?: string } | { since: number; fp?: string } | Record<string, never>;

/** How many positions (the last change of each batch) the client remembers the fingerprint of. */
const KEPT_FINGERPRINTS = 10_000;

export interface SubscriptionSpec {
  channel: string;
  filter?: Filter;
  /** Asked at every (re)subscribe. */
  resume: () => Resume;
}

export interface SubscriptionHandlers {
  /** One call per delivered batch (a feed batch or a replay page): apply it in one cache update. */
  onChanges: (events: ChangeEvent[]) => void;
  /** The server took the subscription; `headSeq` is the stream's head at that moment. */
  onSubscribed?: (headSeq: number) => void;
  onLive?: (seq: number) => void;
  onResync?: (reason: ResyncEvent['reason']) => void;
  /** A refused subscribe. INTERNAL and RATE_LIMITED are asked again by the client; any other code is not. */
  onError?: (message: string, code: ErrorCode) => void;
}

/**
 * What the client reports beside each subscription's handlers: for logs, metrics and
 * test harnesses that must see every delivery.
 */
export interface ClientEvents {
  /** A batch handed to a subscription (after its onChanges). */
  batch: (e: ChangesEvent, spec: SubscriptionSpec) => void;
  /** A token renewed on the open socket; `expiresAt` in ms since the epoch. */
  renewed: (expiresAt: number) => void;
  /**
   * The server closed the socket ('connection') or refused a handshake ('handshake') for
   * its token. `reason`: 'expired' (the client reconnects with a fresh token), or why the
   * token's session ended ('signed-out', 'password-reset', ...; see `isSessionEnd`): the
   * client stops, since only a new sign-in brings a token again. Absent when the server
   * did not say (a malformed or forged token).
   */
  unauthorized: (e: { during: 'connection' | 'handshake'; message: string; reason?: UnauthorizedReason }) => void;
  /** An event for a subscription id this client never held: a server fault. */
  stray: (kind: string, sub: string) => void;
}

export interface ClientOptions {
  timers?: Timers;
  random?: () => number;
  now?: () => number;
  /** Without it the socket connects with whatever `auth` it was given (a service token, or none). */
  tokens?: TokenSource;
  /** Reconnection delays (default: from 500 ms doubling up to 30 s, ±20%). */
  backoff?: BackoffOptions;
  /** false: never renew on the open socket; the server closes it at expiry and the client reconnects with a fresh token. */
  renew?: boolean;
  /** Default: the global window and document, where there are any. */
  environment?: ClientEnvironment;
}

interface Sub {
  spec: SubscriptionSpec;
  handlers: SubscriptionHandlers;
  serverId: string | null;
  replaying: boolean;
  received: number;
  closed: boolean;
  /** Consecutive INTERNAL refusals, for the retry's backoff. */
  refused: number;
  retryTimer: unknown;
  /** The last seq it has while it replays (null: it began from a cursor and has had nothing yet), and the head its ack reported. */
  at: number | null;
  head: number;
}

export class RealtimeClient<S extends SocketLike = SocketLike> {
  private readonly subs = new Set<Sub>();
  private readonly byServerId = new Map<string, Sub>();
  /** Ids this connection held and let go: late events for them are expected, not strays. */
  private readonly retired = new Set<string>();
  /** Subscribes sent on this connection whose ack has not come back. */
  private readonly awaiting = new Set<Sub>();
  private readonly events: { [K in keyof ClientEvents]: Set<ClientEvents[K]> } = { batch: new Set(), renewed: new Set(), unauthorized: new Set(), stray: new Set() };
  /** The fingerprint of the last change of each recent batch, by seq: what a resume from it sends (`fp`). */
  private readonly fingerprints = new Map<number, string>();
  /** Events for a subscription whose ack has not come back yet. */
  private early: [string, ChangesEvent | LiveEvent | ResyncEvent][] = [];
  private reconnectTimer: unknown = null;
  private dropTimer: unknown = null;
  private refreshTimer: unknown = null;
  private started = false;
  private wired = false;
  /** The token of the open socket, or the one the next handshake may reuse. */
  private token: RealtimeToken | null = null;
  /** Bumped by stop() and by every disconnect: a token that arrives later is for nobody. */
  private generation = 0;
  private refreshFailures = 0;
  private state: ConnectionState = { status: 'connecting', catchingUp: 0, lastCatchUp: 0, attempt: 0, behind: 0, dataAt: null, offlineSince: null };
  /** An open() whose outcome (connect, or a failure) has not come yet: a wake-up must not start a second. */
  private attempting = false;
  /** When the server was last heard from; kept out of the state, which would otherwise change with every heartbeat. */
  private heardAt: number | null = null;
  private readonly environment: ClientEnvironment;
  private readonly onOnline = () => this.wake();
  private readonly onVisibility = () => {
    if (this.environment.document?.visibilityState !== 'hidden') this.wake();
  };
  private readonly listeners = new Set<(s: ConnectionState) => void>();
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly tokens: TokenSource | null;
  private readonly backoff: BackoffOptions;
  private readonly renew: boolean;

  constructor(
    /** The socket itself, for what the client does not wrap (fault injection in tests, say). */
    readonly socket: S,
    opts: ClientOptions = {},
  ) {
    this.timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.tokens = opts.tokens ?? null;
    this.backoff = opts.backoff ?? {};
    this.renew = opts.renew ?? true;
    this.environment = opts.environment ?? browserEnvironment();
  }

  get connection(): ConnectionState {
    return this.state;
  }

  on<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): () => void {
    const set = this.events[event] as Set<ClientEvents[K]>;
    set.add(fn);
    return () => set.delete(fn);
  }

  private emitEvent<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    for (const fn of this.events[event]) (fn as (...a: Parameters<ClientEvents[K]>) => void)(...args);
  }

  onState(fn: (s: ConnectionState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    // Once per socket: a start after a stop (React's strict mode does both) must not
    // double every handler.
    if (!this.wired) {
      this.wired = true;
      this.socket.on('connect', () => this.onConnect());
      this.socket.on('disconnect', () => this.onDisconnect());
      this.socket.on('connect_error', (err: { message?: string; data?: { code?: string; reason?: unknown } }) => {
        // Refused for its token: the next attempt asks for a fresh one, unless its session is over.
        if (err?.data?.code === 'UNAUTHORIZED') {
          this.token = null;
          const reason = isSessionEnd(err.data.reason) ? err.data.reason : undefined;
          if (reason) this.stop();
          this.emitEvent('unauthorized', { during: 'handshake', message: err.message ?? 'UNAUTHORIZED', ...(reason ? { reason } : {}) });
          if (reason) return;
        }
        this.onDisconnect();
      });
      this.socket.on('unauthorized', (e: { message?: string; reason?: UnauthorizedReason } | undefined) => {
        const reason = e?.reason;
        // The session ended (signed out here or elsewhere, a password reset): no token will come until a new sign-in.
        if (isSessionEnd(reason)) this.stop();
        this.emitEvent('unauthorized', { during: 'connection', message: e?.message ?? 'token expired', ...(reason ? { reason } : {}) });
        if (!isSessionEnd(reason)) this.onUnauthorized();
      });
      // Socket.IO's manager reports each heartbeat: proof that nothing was pending before it.
      (this.socket as { io?: { on?: (event: string, fn: () => void) => unknown } }).io?.on?.('ping', () => this.heard());
      this.socket.on('changes', (e: ChangesEvent) => this.route('changes', e));
      this.socket.on('live', (e: LiveEvent) => this.route('live', e));
      this.socket.on('resync', (e: ResyncEvent) => this.route('resync', e));
    }
    this.environment.window?.addEventListener('online', this.onOnline);
    this.environment.document?.addEventListener('visibilitychange', this.onVisibility);
    this.open();
  }

  stop(): void {
    this.timers.clearTimeout(this.reconnectTimer);
    this.timers.clearTimeout(this.dropTimer);
    this.timers.clearTimeout(this.refreshTimer);
    this.reconnectTimer = null;
    this.dropTimer = null;
    this.refreshTimer = null;
    this.generation++;
    this.started = false;
    this.attempting = false;
    this.environment.window?.removeEventListener('online', this.onOnline);
    this.environment.document?.removeEventListener('visibilitychange', this.onVisibility);
    this.socket.disconnect();
  }

  /**
   * The network is back, or the tab is shown again: a socket that is down tries now rather
   * than when its backoff ends. The attempt counts as any other: if it fails, the next one
   * waits the backoff's next step; if it succeeds, the backoff starts over.
   */
  private wake(): void {
    if (!this.started || this.dropTimer || this.socket.connected || this.attempting) return;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.open();
  }

  subscribe(spec: SubscriptionSpec, handlers: SubscriptionHandlers): () => void {
    const sub: Sub = { spec, handlers, serverId: null, replaying: false, received: 0, closed: false, refused: 0, retryTimer: null, at: null, head: 0 };
    this.subs.add(sub);
    if (this.socket.connected) this.send(sub);
    return () => this.unsubscribe(sub);
  }

  /** Start a subscription over (after its list was refetched): its resume() is asked again. */
  restart(unsub: () => void, spec: SubscriptionSpec, handlers: SubscriptionHandlers): () => void {
    unsub();
    return this.subscribe(spec, handlers);
  }

  /** The flaky-network control: drop the connection for `ms`, then come back. */
  dropFor(ms: number): void {
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.generation++;
    this.attempting = false;
    this.timers.clearTimeout(this.dropTimer);
    // Set before the disconnect, whose handler must not schedule a reconnect of its own.
    this.dropTimer = this.timers.setTimeout(() => {
      this.dropTimer = null;
      this.open();
    }, ms);
    this.socket.disconnect();
    this.set(this.offline());
  }

  private unsubscribe(sub: Sub): void {
    if (sub.closed) return;
    sub.closed = true;
    this.timers.clearTimeout(sub.retryTimer);
    this.subs.delete(sub);
    // Still awaited when its ack is on the way: events for the id it gets are then not strays.
    if (sub.serverId) {
      this.byServerId.delete(sub.serverId);
      this.retired.add(sub.serverId);
      if (this.socket.connected) this.socket.emit('unsubscribe', { id: sub.serverId }, () => undefined);
    }
    this.recount();
  }

  private send(sub: Sub): void {
    // A retry still pending would open a second subscription beside this one.
    this.timers.clearTimeout(sub.retryTimer);
    sub.retryTimer = null;
    const resume = this.withFingerprint(sub.spec.resume());
    sub.serverId = null;
    sub.replaying = 'since' in resume || 'cursor' in resume;
    sub.received = 0;
    const since = (resume as { since?: unknown }).since;
    sub.at = typeof since === 'number' ? since : null;
    sub.head = 0;
    this.recount();
    this.awaiting.add(sub);
    this.socket.emit('subscribe', { channel: sub.spec.channel, ...(sub.spec.filter ? { filter: sub.spec.filter } : {}), ...resume }, (ack: SubscribeAck) => {
      this.heard();
      this.awaiting.delete(sub);
      if (sub.closed) {
        if (ack.ok) {
          this.retired.add(ack.id);
          if (this.socket.connected) this.socket.emit('unsubscribe', { id: ack.id }, () => undefined);
        }
        this.settleEarly();
        return;
      }
      if (!ack.ok) {
        this.settleEarly();
        sub.handlers.onError?.(`${ack.error.code}: ${ack.error.message}`, ack.error.code);
        // INTERNAL is the server's passing trouble (its database restarting), RATE_LIMITED
        // a burst past SUBSCRIBES_PER_SECOND: ask again, with backoff. Any other code is
        // about the request, which would fail the same way.
        if (ack.error.code === 'INTERNAL' || ack.error.code === 'RATE_LIMITED') {
          this.timers.clearTimeout(sub.retryTimer);
          sub.retryTimer = this.timers.setTimeout(() => {
            sub.retryTimer = null;
            if (!sub.closed && this.socket.connected && !sub.serverId) this.send(sub);
          }, backoffDelay(sub.refused++, this.random, this.backoff));
        }
        return;
      }
      sub.refused = 0;
      sub.serverId = ack.id;
      sub.head = ack.headSeq;
      if (sub.replaying) this.recount();
      this.byServerId.set(ack.id, sub);
      sub.handlers.onSubscribed?.(ack.headSeq);
      const early = this.early.filter(([, e]) => e.sub === ack.id);
      this.early = this.early.filter(([, e]) => e.sub !== ack.id);
      for (const [kind, e] of early) this.route(kind, e);
      this.settleEarly();
    });
  }

  /** A resume from a seq carries that change's fingerprint, so the gateway can tell it is of the same history. */
  private withFingerprint(resume: Resume): Resume {
    if (!('since' in resume) || resume.since === undefined || resume.since <= 0 || resume.fp) return resume;
    const fp = this.fingerprints.get(resume.since);
    return fp ? ({ ...resume, fp } as Resume) : resume;
  }

  /** Remembers the fingerprint of a batch's last change: the position a subscription resumes from. */
  private remember(batch: ChangesEvent): void {
    const last = batch.changes[batch.changes.length - 1];
    if (!last || typeof last.fp !== 'string') return;
    this.fingerprints.delete(last.seq);
    this.fingerprints.set(last.seq, last.fp);
    if (this.fingerprints.size > KEPT_FINGERPRINTS) this.fingerprints.delete(this.fingerprints.keys().next().value!);
  }

  /** With no ack outstanding, an event still unclaimed belongs to no subscription of ours. */
  private settleEarly(): void {
    if (this.awaiting.size > 0 || this.early.length === 0) return;
    const left = this.early;
    this.early = [];
    for (const [kind, e] of left) if (!this.retired.has(e.sub)) this.emitEvent('stray', kind, e.sub);
  }

  private route(kind: string, e: ChangesEvent | LiveEvent | ResyncEvent): void {
    this.heard();
    const sub = this.byServerId.get(e.sub);
    if (!sub) {
      // A subscription we let go may still have events on the way.
      if (this.retired.has(e.sub)) return;
      // Its ack may still be on the way.
      if (this.awaiting.size > 0) {
        if (this.early.length < 10_000) this.early.push([kind, e]);
      } else this.emitEvent('stray', kind, e.sub);
      return;
    }
    if (kind === 'changes') {
      // A batch (a feed batch, or a replay page) is applied in one cache update.
      const batch = e as ChangesEvent;
      this.remember(batch);
      if (sub.replaying) {
        sub.received += batch.changes.length;
        sub.at = Math.max(sub.at ?? 0, batch.changes.at(-1)?.seq ?? 0);
      }
      sub.handlers.onChanges(unbatch(batch));
      this.emitEvent('batch', batch, sub.spec);
      if (sub.replaying) this.recount();
    } else if (kind === 'live') {
      if (sub.replaying) {
        sub.replaying = false;
        this.state = { ...this.state, lastCatchUp: this.state.lastCatchUp + sub.received };
        this.recount();
      }
      sub.handlers.onLive?.((e as LiveEvent).seq);
    } else if (kind === 'resync') {
      this.byServerId.delete(e.sub);
      this.retired.add(e.sub);
      sub.serverId = null;
      sub.handlers.onResync?.((e as ResyncEvent).reason);
    }
  }

  /** Connects, with a token that outlives its renewal point, or a fresh one. */
  private open(): void {
    this.attempting = true;
    if (!this.tokens) {
      this.socket.auth = { ...(this.socket.auth as object | undefined), v: PROTOCOL_VERSION };
      this.socket.connect();
      return;
    }
    if (this.token && this.now() < this.token.expiresAt - 60_000) {
      this.socket.auth = { token: this.token.token, v: PROTOCOL_VERSION };
      this.socket.connect();
      return;
    }
    const generation = this.generation;
    this.tokens().then(
      (token) => {
        if (generation !== this.generation || !this.started || this.socket.connected) return;
        if (!token) return this.stop();
        this.token = token;
        this.socket.auth = { token: token.token, v: PROTOCOL_VERSION };
        this.socket.connect();
      },
      () => {
        // The API is unreachable too: a failed attempt like any other, with its backoff.
        if (generation === this.generation && this.started) this.onDisconnect();
      },
    );
  }

  private onConnect(): void {
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempting = false;
    this.heard();
    this.byServerId.clear();
    this.retired.clear();
    this.awaiting.clear();
    this.early = [];
    this.state = { ...this.state, attempt: 0, lastCatchUp: 0, dataAt: null, offlineSince: null };
    this.refreshFailures = 0;
    this.scheduleRefresh();
    for (const sub of this.subs) this.send(sub);
    this.recount();
  }

  private scheduleRefresh(delay?: number): void {
    this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (!this.tokens || !this.token || !this.renew) return;
    this.refreshTimer = this.timers.setTimeout(() => {
      this.refreshTimer = null;
      this.refresh();
    }, delay ?? refreshDelay(this.token.expiresAt, this.now()));
  }

  /** A fresh token for the open socket (the `auth` event): subscriptions go on untouched. */
  private refresh(): void {
    const generation = this.generation;
    const retry = () => {
      if (generation === this.generation && this.socket.connected) this.scheduleRefresh(backoffDelay(this.refreshFailures++, this.random, this.backoff));
    };
    this.tokens!().then((token) => {
      if (generation !== this.generation || !this.socket.connected) return;
      if (!token) return this.stop();
      this.socket.emit('auth', { token: token.token }, (ack: AuthAck) => {
        if (generation !== this.generation) return;
        if (!ack.ok) {
          if (isDev()) console.warn(`realtime token renewal refused: ${ack.error.code}: ${ack.error.message}`);
          // If renewals keep failing, the server's `unauthorized` at expiry leads to a reconnect.
          return retry();
        }
        this.refreshFailures = 0;
        this.token = { token: token.token, expiresAt: ack.expiresAt * 1000 };
        this.emitEvent('renewed', this.token.expiresAt);
        this.scheduleRefresh();
      });
    }, retry);
  }

  /** The token expired unrenewed: the server is closing the socket. Reconnect with a fresh one. */
  private onUnauthorized(): void {
    this.token = null;
    if (this.socket.connected) this.socket.disconnect();
  }

  private onDisconnect(): void {
    this.generation++;
    this.attempting = false;
    this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const sub of this.subs) sub.serverId = null;
    this.byServerId.clear();
    this.awaiting.clear();
    this.retired.clear();
    this.early = [];
    if (this.dropTimer || !this.started) {
      this.set(this.offline());
      return;
    }
    const attempt = this.state.attempt;
    this.set({ ...this.offline(), attempt: attempt + 1 });
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.socket.connected) this.open();
    }, backoffDelay(attempt, this.random, this.backoff));
  }

  private heard(): void {
    this.heardAt = this.now();
  }

  /** Offline since the first moment it was, with its data as old as the last word from the server. */
  private offline(): Partial<ConnectionState> {
    return { status: 'offline', behind: 0, offlineSince: this.state.offlineSince ?? this.now(), dataAt: this.state.dataAt ?? this.heardAt };
  }

  private recount(): void {
    if (!this.socket.connected) return;
    let catchingUp = 0;
    let behind = 0;
    let replaying = false;
    for (const sub of this.subs) {
      if (sub.replaying) {
        replaying = true;
        catchingUp += sub.received;
        if (sub.at !== null && sub.head > 0) behind = Math.max(behind, sub.head - sub.at);
      }
    }
    this.set({ status: replaying ? 'catching-up' : 'live', catchingUp, behind: replaying ? behind : 0 });
  }

  private set(patch: Partial<ConnectionState>): void {
    const next = { ...this.state, ...patch };
    const keys = Object.keys(next) as (keyof ConnectionState)[];
    if (keys.every((k) => next[k] === this.state[k])) return;
    this.state = next;
    for (const fn of this.listeners) fn(next);
  }
}
