// One Socket.IO connection per app and every subscription on it. Framework-free, with
// the socket, timers, clock and randomness injected, so that reconnection is tested with
// fake timers and a fake socket. It reconnects with backoff (up to 30 s), resubscribes
// each subscription from where it stopped, renews its token on the open socket before it
// expires, and reports the connection's state. It tries again at once when the browser
// says the network is back or the tab is shown again, and backs off only after failures.
//
// This file is the shell: the decisions are the two state machines (connection/machine.ts,
// connection/subscription.ts); here their effects meet the socket, the timers and the app.
import { PROTOCOL_VERSION, unbatch, type AuthAck, type ChangesEvent, type SubscribeAck, type UnauthorizedReason } from '@realtime/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { browserEnvironment, listenForWake, type ClientEnvironment } from './connection/environment.js';
import { initialConnection, reduceConnection, type Connection, type ConnectionEffect, type ConnectionEvent, type Phase, type Timer } from './connection/machine.js';
import { Routes, type ServerEvent } from './connection/routes.js';
import { newSubscription, reduceSubscription, type Subscription, type SubscriptionEffect, type SubscriptionEvent } from './connection/subscription.js';
import type { TokenSource } from './connection/tokens.js';
import { connectionView, sameView } from './connection/view.js';
import { isDev } from './dev.js';
import { realTimers, type ClientEvents, type ClientOptions, type ConnectionState, type SocketLike, type SubscriptionHandlers, type SubscriptionSpec, type Timers } from './types.js';

export { refreshDelay, type RealtimeToken, type TokenSource } from './connection/tokens.js';
export type { ClientEnvironment, EventTargetLike } from './connection/environment.js';
export type { ClientEvents, ClientOptions, ConnectionState, Resume, SocketLike, Status, SubscriptionHandlers, SubscriptionSpec, Timers } from './types.js';

interface Sub {
  spec: SubscriptionSpec;
  handlers: SubscriptionHandlers;
  state: Subscription;
  retryTimer: unknown;
}

export class RealtimeClient<S extends SocketLike = SocketLike> {
  private conn: Connection;
  private readonly subs = new Set<Sub>();
  private readonly routes = new Routes<Sub>();
  private readonly events: { [K in keyof ClientEvents]: Set<ClientEvents[K]> } = { batch: new Set(), renewed: new Set(), unauthorized: new Set(), stray: new Set() };
  private readonly timerHandles = new Map<Timer, unknown>();
  private readonly listeners = new Set<(s: ConnectionState) => void>();
  private view: ConnectionState;
  private wired = false;
  private unlisten: (() => void) | null = null;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly tokens: TokenSource | null;
  private readonly backoff: BackoffOptions;
  private readonly environment: ClientEnvironment;

  constructor(
    /** The socket itself, for what the client does not wrap (fault injection in tests, say). */
    readonly socket: S,
    opts: ClientOptions = {},
  ) {
    this.timers = opts.timers ?? realTimers;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.tokens = opts.tokens ?? null;
    this.backoff = opts.backoff ?? {};
    this.environment = opts.environment ?? browserEnvironment();
    this.conn = initialConnection({ tokens: this.tokens !== null, renew: opts.renew ?? true });
    this.view = connectionView(this.conn, []);
  }

  get connection(): ConnectionState {
    return this.view;
  }

  /** Where the connection's machine is: finer than `connection.status` (`backing-off` and `dropped` are both offline), for logs and tests. */
  get phase(): Phase {
    return this.conn.phase;
  }

  on<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): () => void {
    const set = this.events[event] as Set<ClientEvents[K]>;
    set.add(fn);
    return () => set.delete(fn);
  }

  onState(fn: (s: ConnectionState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    this.dispatch({ type: 'start', now: this.now() });
  }

  stop(): void {
    this.dispatch({ type: 'stop' });
  }

  /** The flaky-network control: drop the connection for `ms`, then come back. */
  dropFor(ms: number): void {
    this.dispatch({ type: 'drop', ms, now: this.now() });
  }

  subscribe(spec: SubscriptionSpec, handlers: SubscriptionHandlers): () => void {
    const sub: Sub = { spec, handlers, state: newSubscription(), retryTimer: null };
    this.subs.add(sub);
    if (this.socket.connected) this.send(sub);
    return () => this.toSub(sub, { type: 'close' });
  }

  // ---- the connection's machine and its effects

  private dispatch(e: ConnectionEvent): void {
    const { state, effects } = reduceConnection(this.conn, e);
    this.conn = state;
    for (const effect of effects) this.run(effect);
    this.publish();
  }

  private run(effect: ConnectionEffect): void {
    switch (effect.type) {
      case 'connect':
        this.socket.auth = effect.token === null ? { ...(this.socket.auth as object | undefined), v: PROTOCOL_VERSION } : { token: effect.token, v: PROTOCOL_VERSION };
        this.socket.connect();
        return;
      case 'disconnect':
        this.socket.disconnect();
        return;
      case 'fetch-token':
        return this.fetchToken(effect.purpose, effect.generation);
      case 'renew':
        this.socket.emit('auth', { token: effect.token }, (ack: AuthAck) =>
          this.dispatch({ type: 'renew-answer', generation: effect.generation, token: effect.token, now: this.now(), answer: ack.ok ? ack : { ok: false, message: `${ack.error.code}: ${ack.error.message}` } }),
        );
        return;
      case 'arm': {
        this.cancel(effect.timer);
        const ms = 'ms' in effect ? effect.ms : backoffDelay(effect.backoff, this.random, this.backoff);
        const timer = effect.timer;
        this.timerHandles.set(
          timer,
          this.timers.setTimeout(() => {
            this.timerHandles.delete(timer);
            this.dispatch({ type: 'timer', timer, now: this.now(), connected: this.socket.connected });
          }, ms),
        );
        return;
      }
      case 'cancel':
        return this.cancel(effect.timer);
      case 'listen':
        this.wire();
        this.unlisten?.();
        this.unlisten = listenForWake(this.environment, () => this.dispatch({ type: 'wake', now: this.now(), connected: this.socket.connected }));
        return;
      case 'unlisten':
        this.unlisten?.();
        this.unlisten = null;
        return;
      case 'resubscribe':
        this.routes.reset();
        for (const sub of this.subs) this.send(sub);
        return;
      case 'forget':
        this.routes.reset();
        for (const sub of this.subs) this.toSub(sub, { type: 'disconnected' });
        return;
      case 'renewed':
        return this.emitEvent('renewed', effect.expiresAt);
      case 'renew-refused':
        if (isDev()) console.warn(`realtime token renewal refused: ${effect.message}`);
        return;
      case 'unauthorized': {
        const { type: _type, ...told } = effect;
        return this.emitEvent('unauthorized', told);
      }
    }
  }

  private cancel(timer: Timer): void {
    if (!this.timerHandles.has(timer)) return;
    this.timers.clearTimeout(this.timerHandles.get(timer));
    this.timerHandles.delete(timer);
  }

  private fetchToken(purpose: 'connect' | 'renew', generation: number): void {
    this.tokens!().then(
      (token) => this.dispatch({ type: 'token', purpose, generation, token, now: this.now(), connected: this.socket.connected }),
      () => this.dispatch({ type: 'token-failed', purpose, generation, now: this.now() }),
    );
  }

  /** Once per socket: a start after a stop (React's strict mode does both) must not double every handler. */
  private wire(): void {
    if (this.wired) return;
    this.wired = true;
    this.socket.on('connect', () => this.dispatch({ type: 'connected', now: this.now() }));
    this.socket.on('disconnect', () => this.dispatch({ type: 'disconnected', now: this.now() }));
    this.socket.on('connect_error', (err: { message?: string; data?: { code?: string; reason?: UnauthorizedReason } } | undefined) => {
      const unauthorized = err?.data?.code === 'UNAUTHORIZED' ? { message: err.message ?? 'UNAUTHORIZED', ...(err.data.reason ? { reason: err.data.reason } : {}) } : undefined;
      this.dispatch({ type: 'connect-error', now: this.now(), ...(unauthorized ? { unauthorized } : {}) });
    });
    this.socket.on('unauthorized', (e: { message?: string; reason?: UnauthorizedReason } | undefined) =>
      this.dispatch({ type: 'unauthorized', now: this.now(), message: e?.message ?? 'token expired', ...(e?.reason ? { reason: e.reason } : {}), connected: this.socket.connected }),
    );
    // Socket.IO's manager reports each heartbeat: proof that nothing was pending before it.
    (this.socket as { io?: { on?: (event: string, fn: () => void) => unknown } }).io?.on?.('ping', () => this.heard());
    this.socket.on('changes', (e: ChangesEvent) => this.route(['changes', e]));
    this.socket.on('live', (e: ServerEvent[1]) => this.route(['live', e] as ServerEvent));
    this.socket.on('resync', (e: ServerEvent[1]) => this.route(['resync', e] as ServerEvent));
  }

  private heard(): void {
    this.conn = reduceConnection(this.conn, { type: 'heard', now: this.now() }).state;
  }

  // ---- subscriptions

  private send(sub: Sub): void {
    this.toSub(sub, { type: 'send', resume: this.routes.withFingerprint(sub.spec.resume()) });
  }

  private toSub(sub: Sub, e: SubscriptionEvent): void {
    const { state, effects } = reduceSubscription(sub.state, e);
    sub.state = state;
    if (state.phase === 'closed') this.subs.delete(sub);
    for (const effect of effects) this.runSub(sub, effect);
    this.publish();
  }

  private runSub(sub: Sub, effect: SubscriptionEffect): void {
    switch (effect.type) {
      case 'subscribe': {
        this.routes.await(sub);
        const { channel, filter } = sub.spec;
        this.socket.emit('subscribe', { channel, ...(filter ? { filter } : {}), ...effect.resume }, (ack: SubscribeAck) => {
          this.heard();
          this.routes.answered(sub);
          this.toSub(sub, { type: 'ack', send: effect.send, ack });
          this.settle();
        });
        return;
      }
      case 'unsubscribe':
        if (this.socket.connected) this.socket.emit('unsubscribe', { id: effect.id }, () => undefined);
        return;
      case 'bind':
        return this.routes.bind(effect.id, sub);
      case 'deliver-held':
        for (const early of this.routes.held(effect.id)) this.route(early);
        return;
      case 'retire':
        return this.routes.retire(effect.id);
      case 'arm-retry':
        this.timers.clearTimeout(sub.retryTimer);
        sub.retryTimer = this.timers.setTimeout(() => {
          sub.retryTimer = null;
          this.toSub(sub, { type: 'retry-due', connected: this.socket.connected });
        }, backoffDelay(effect.backoff, this.random, this.backoff));
        return;
      case 'cancel-retry':
        this.timers.clearTimeout(sub.retryTimer);
        sub.retryTimer = null;
        return;
      case 'resend':
        return this.send(sub);
      case 'subscribed':
        return sub.handlers.onSubscribed?.(effect.headSeq);
      case 'error':
        return sub.handlers.onError?.(effect.message, effect.code);
      case 'went-live':
        return sub.handlers.onLive?.(effect.seq);
      case 'resynced':
        return sub.handlers.onResync?.(effect.reason);
      case 'caught-up':
        this.conn = reduceConnection(this.conn, { type: 'caught-up', changes: effect.changes }).state;
        return;
    }
  }

  private route(event: ServerEvent): void {
    this.heard();
    const { route, sub } = this.routes.route(event);
    if (route === 'stray') this.emitEvent('stray', event[0], event[1].sub);
    if (route !== 'deliver' || !sub) return;
    if (event[0] === 'changes') {
      // A batch (a feed batch, or a replay page) is applied in one cache update.
      const batch = event[1];
      this.routes.remember(batch);
      sub.handlers.onChanges(unbatch(batch));
      this.emitEvent('batch', batch, sub.spec);
      this.toSub(sub, { type: 'changes', count: batch.changes.length, lastSeq: batch.changes.at(-1)?.seq ?? 0 });
    } else if (event[0] === 'live') this.toSub(sub, { type: 'live', seq: event[1].seq });
    else this.toSub(sub, { type: 'resync', reason: event[1].reason });
  }

  /** With no ack outstanding, an event still unclaimed belongs to no subscription of ours. */
  private settle(): void {
    for (const [kind, e] of this.routes.settle()) this.emitEvent('stray', kind, e.sub);
  }

  // ---- reporting

  private emitEvent<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    for (const fn of this.events[event]) (fn as (...a: Parameters<ClientEvents[K]>) => void)(...args);
  }

  private publish(): void {
    const next = connectionView(this.conn, [...this.subs].map((s) => s.state));
    if (sameView(next, this.view)) return;
    this.view = next;
    for (const fn of this.listeners) fn(next);
  }
}
