// The Socket.IO gateway (path /ws), composed of its parts: connections (handshake,
// principal, token refresh, limits, byte queue), the subscription registry (interest
// index, membership), subscribe and replay, and dispatch of the live feed. Every client
// has a bounded cost (GatewayLimits). Stateless: any number run side by side on the same
// stamped outbox. This file only wires the parts and owns the lifecycle.
import type { Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type pg from 'pg';
import { Server } from 'socket.io';
import type { Logger } from '@realtime/runtime';
import { WS_PATH } from '@realtime/protocol';
import type { Feed, FeedChange } from './feed';
import type { ChannelCatalog } from './channels';
import { MembershipLog } from './auth/membership';
import { readMemberships } from './auth/members-reader';
import { Connections } from './connections/connections';
import { refuseForeignOrigins } from './connections/origin';
import type { Counters, GatewayServer } from './connections/socket';
import { Dispatcher } from './dispatch/dispatcher';
import { DEFAULT_HEARTBEAT, DEFAULT_LIMITS, STOP_GRACE_MS, type GatewayLimits, type Heartbeat } from './limits/limits';
import { LimitNotes } from './limits/notes';
import { Turns } from './limits/turns';
import * as metrics from './metrics';
import { ResumeReads, readBoundsReaching } from './replay/reader';
import { Replayer } from './replay/replayer';
import type { ReplayRing } from './replay/ring';
import type { ReplayLog, ReplaySource } from './replay/sources';
import { Registry, type SharedSockets } from './subscriptions/registry';
import { HEAD_WAIT_MS, Subscriber } from './subscriptions/subscribe';

export { DEFAULT_LIMITS, DEFAULT_HEARTBEAT, DEAD_LINK_NOTICE_MS, STOP_GRACE_MS, type GatewayLimits, type Heartbeat } from './limits/limits';

export interface GatewayOptions {
  httpServer: HttpServer;
  /** How long stop() lets requests in flight finish before it closes their connections (default STOP_GRACE_MS). */
  stopGraceMs?: number;
  pool: pg.Pool;
  /**
   * Every read of the gateway's (replay pages, bounds, memberships): a pool of its own, so
   * that however many clients resume at once, the API keeps its connections (default: pool).
   */
  replayPool?: pg.Pool;
  feed: Feed;
  log: Logger;
  /** The streamed tables it serves, their columns and project columns; the gateway starts and stops its re-reads. */
  channels: ChannelCatalog;
  /** Origins whose pages may open a socket (the page's own origin always may). */
  frontendUrls: string[];
  jwtSecret: Uint8Array;
  limits?: Partial<GatewayLimits>;
  /** Default DEFAULT_HEARTBEAT (PING_INTERVAL_MS, PING_TIMEOUT_MS). */
  heartbeat?: Heartbeat;
  /** Holds the feed's recent batches (filled from the feed from start()): replay pages it covers are read from memory. */
  ring?: ReplayRing<FeedChange>;
  /** The shared change log: replay pages its current stream holds are read from it instead of the outbox. */
  changeLog?: ReplayLog;
  /** Each user's sockets counted across gateways (REDIS_URL): renewed from start(), given back at stop(). */
  sharedSockets?: SharedSockets & { start(): void; stop(): Promise<void> };
}

/**
 * A user's membership history up to the feed's position now. Events after it arrive
 * through dispatch (which adds them to the same log, registered in this same turn of the
 * event loop); those up to it are read. Together: the whole history, each once. The feed
 * can hand out a change before the outbox shows its seq (early numbering), so the read
 * waits until the outbox reaches the position: read any sooner, a revocation the feed
 * delivered a moment ago would be in neither half, and the user would keep the project.
 */
function historyLoader(pool: pg.Pool, reads: ResumeReads, feed: Feed): (userId: string, log: MembershipLog) => Promise<void> {
  return (userId, log) => {
    const upTo = feed.position;
    return (async () => {
      const bounds = await readBoundsReaching(reads, upTo, HEAD_WAIT_MS, () => false);
      if (bounds.head < upTo) throw new Error(`the outbox shows changes up to seq ${bounds.head} but the stream has sent up to ${upTo} (the replicator is behind or restarting)`);
      for (const e of await readMemberships(pool, userId, upTo)) log.add(e);
    })();
  };
}

/**
 * Packets that waited while a write was under way leave together (engine.io flushes them
 * as one batch, a WebSocket frame each): held in the TCP socket until the batch is
 * written, they go out in one system call instead of one per frame. A reconnect storm
 * writes tens of thousands of acks, pages and 'live' events, mostly in such batches.
 */
function batchFlushWrites(engine: GatewayServer['engine']): void {
  const corked = new WeakSet<object>();
  const tcpOf = (socket: unknown): Socket | null => {
    const transport = (socket as { transport?: { name?: string; socket?: { _socket?: Socket } } }).transport;
    return transport?.name === 'websocket' ? (transport.socket?._socket ?? null) : null;
  };
  engine.on('flush', (socket: object, packets: unknown[]) => {
    const tcp = packets.length > 1 ? tcpOf(socket) : null;
    if (!tcp || tcp.destroyed) return;
    tcp.cork();
    corked.add(socket);
  });
  engine.on('drain', (socket: object) => {
    if (!corked.delete(socket)) return;
    tcpOf(socket)?.uncork();
  });
}

export class Gateway {
  readonly io: GatewayServer;
  private detachFeed: (() => void) | null = null;
  private detachRing: (() => void) | null = null;
  private readonly replayer: Replayer;
  private readonly counters: Counters = { replays: 0, resyncs: 0, badMessages: 0, offered: 0 };
  private readonly turns: Turns;
  private readonly registry: Registry;
  private readonly connections: Connections;
  private readonly subscriber: Subscriber;
  private readonly dispatcher: Dispatcher;

  constructor(private readonly opts: GatewayOptions) {
    const log = opts.log.child({ component: 'gateway' });
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const replayPool = opts.replayPool ?? opts.pool;
    const feed = opts.feed;
    const counters = this.counters;
    const notes = new LimitNotes(log);
    const resumeReads = new ResumeReads(replayPool);
    this.turns = new Turns(limits.maxConcurrentReplays);
    const registry = (this.registry = new Registry({
      turns: this.turns,
      counters,
      maxSocketsPerUser: limits.maxSocketsPerUser,
      newReplayTurns: () => new Turns(limits.maxReplaysPerUser),
      loadHistory: historyLoader(replayPool, resumeReads, feed),
      ...(opts.sharedSockets ? { shared: opts.sharedSockets } : {}),
    }));
    const connections = (this.connections = new Connections({ replayPool, feed, jwtSecret: opts.jwtSecret, limits, log, notes, counters, registry }));
    const replayer = (this.replayer = new Replayer({ replayPool, resumeReads, registry, connections, limits, notes, counters, log, ring: opts.ring, changeLog: opts.changeLog }));
    this.subscriber = new Subscriber({ resumeReads, feed, channels: opts.channels, jwtSecret: opts.jwtSecret, limits, turns: this.turns, registry, connections, replayer, notes, log });
    this.dispatcher = new Dispatcher({ registry, connections, channels: opts.channels, limits, notes, counters, position: () => feed.position });
    this.io = new Server(opts.httpServer, {
      path: WS_PATH,
      cors: { origin: opts.frontendUrls, credentials: true },
      serveClient: false,
      ...(opts.heartbeat ?? DEFAULT_HEARTBEAT),
      // The largest message a client has reason to send is a subscribe (16 KB) or a token:
      // anything much larger is refused by the transport before it is parsed.
      maxHttpBufferSize: 64 * 1024,
      // Socket.IO's own recovery is in memory and short-lived: replay comes from the outbox.
      connectionStateRecovery: undefined,
    });
    batchFlushWrites(this.io.engine);
    refuseForeignOrigins(this.io.engine, opts.frontendUrls, (req) => notes.hit('origin', { origin: String(req.headers.origin).slice(0, 200), allowed: opts.frontendUrls, path: req.url?.slice(0, 100) }));
  }

  /** The channels served now (the catalog's streamed tables, narrowed by PG_CHANNELS). */
  get channels(): string[] {
    return this.opts.channels.names;
  }

  stats(): { sockets: number; subscriptions: number; replays: number; resyncs: number; badMessages: number; offered: number; replaysRunning: number; replaysWaiting: number; replaySources: Record<ReplaySource, number> } {
    const t = this.turns.stats;
    return { sockets: this.io.of('/').sockets.size, subscriptions: this.registry.subscriptions, ...this.counters, replaysRunning: t.running, replaysWaiting: t.waiting, replaySources: { ...this.replayer.pageSources } };
  }

  start(): void {
    this.opts.sharedSockets?.start();
    this.io.use(this.connections.handshake);
    this.io.on('connection', (socket) => this.connections.connected(socket, this.subscriber));
    metrics.registerGatewayGauges(() => this.stats());
    const ring = this.opts.ring;
    if (ring) {
      // From the feed's position on, every batch it hands out, before any subscription sees it.
      ring.reset(this.opts.feed.position);
      this.detachRing = this.opts.feed.onChanges((batch) => ring.push(batch));
    }
    this.detachFeed = this.opts.feed.onChanges((batch) => this.dispatcher.dispatch(batch));
    this.opts.channels.start();
  }

  async stop(): Promise<void> {
    this.detachFeed?.();
    this.detachRing?.();
    await this.opts.channels.stop();
    for (const socket of this.io.of('/').sockets.values()) this.connections.cleanup(socket);
    // The places of this gateway's sockets go back now, not a lease from now.
    await this.opts.sharedSockets?.stop();
    // io.close() closes the HTTP server, which waits for every connection to end. A
    // keep-alive connection that is busy at that moment is not closed when its answer is
    // done (Node 20 goes on serving it), so a client that keeps one busy (a load
    // balancer's upstream pool, a retrying client) would hold the stop forever. Idle
    // connections are closed as they become idle, and whatever is left after the grace.
    const server = this.opts.httpServer;
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const grace = setTimeout(() => server.closeAllConnections(), this.opts.stopGraceMs ?? STOP_GRACE_MS);
    try {
      await new Promise<void>((resolve) => {
        this.io.close(() => resolve());
        server.closeIdleConnections();
      });
    } finally {
      clearInterval(idle);
      clearTimeout(grace);
    }
  }
}
