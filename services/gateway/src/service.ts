// The gateway as a service of a process: its live feed, its channel catalog and the
// Socket.IO server on the process's HTTP server, built at start and stopped together.
// Several run against one database; each reads the stamped outbox itself, or, with a
// shared change log, the log, and the outbox only for what the log lacks.
import type { Server as HttpServer } from 'node:http';
import type pg from 'pg';
import { HEALTHY, type Health, type Logger, type Service } from '@realtime/runtime';
import { Leases, type SharedRedis } from '@realtime/shared-limits';
import { ChannelCatalog } from './channels';
import { Feed, type LogSource, type StampSource } from './feed';
import { Gateway } from './gateway';
import { gatewayHeartbeat, gatewayLimits, gatewayRing, type GatewaySettings } from './env';
import { ReplayRing } from './replay/ring';
import type { ReplayLog } from './replay/sources';

export interface GatewayServiceOptions {
  httpServer: HttpServer;
  /** Sessions and memberships. */
  pool: pg.Pool;
  /** Replay pages and bounds: apart, so that a replay storm takes no connection from the rest. */
  replayPool: pg.Pool;
  /** The live feed's reads, apart again: live changes wait behind no replay. */
  feedPool: pg.Pool;
  /** A direct connection (never through a pooler) for LISTEN: the feed's wake-ups and the catalog's. */
  directUrl: string;
  log: Logger;
  settings: GatewaySettings;
  /** REALTIME_JWT_SECRET as bytes: the API signs the tokens with it. */
  secret: Uint8Array;
  /** A replicator in this process: its batches reach the feed without a database round trip. */
  source?: StampSource;
  /** The shared change log (REDIS_URL): the live feed and replay pages come from it; the outbox fills what it lacks. */
  changeLog?: LogSource & ReplayLog;
  /** Redis for the limits counted across processes (REDIS_URL): each user's sockets on every gateway. */
  sharedLimits?: SharedRedis;
}

export class GatewayService implements Service {
  readonly name = 'gateway';
  private feed: Feed | null = null;
  private gateway: Gateway | null = null;

  constructor(private readonly opts: GatewayServiceOptions) {}

  async start(): Promise<void> {
    const { opts } = this;
    const feed = new Feed({ pool: opts.feedPool, directUrl: opts.directUrl, log: opts.log, replicator: opts.source, changeLog: opts.changeLog });
    this.feed = feed;
    const gateway = new Gateway({
      httpServer: opts.httpServer,
      pool: opts.pool,
      feed,
      log: opts.log,
      // Every streamed table (PG_CHANNELS narrows), and those declared while it runs.
      channels: await ChannelCatalog.load({ pool: opts.pool, log: opts.log, only: opts.settings.PG_CHANNELS, listenUrl: opts.directUrl }),
      frontendUrls: opts.settings.FRONTEND_URL,
      jwtSecret: opts.secret,
      replayPool: opts.replayPool,
      limits: gatewayLimits(opts.settings),
      heartbeat: gatewayHeartbeat(opts.settings),
      // Replays read the recent feed batches, then the change log, and the outbox for what neither holds.
      ring: new ReplayRing(gatewayRing(opts.settings)),
      ...(opts.changeLog ? { changeLog: opts.changeLog } : {}),
      ...(opts.sharedLimits ? { sharedSockets: new Leases({ redis: opts.sharedLimits, set: 'sockets', leaseMs: opts.settings.SOCKET_LEASE_SECONDS * 1000 }) } : {}),
    });
    await feed.start();
    gateway.start();
    this.gateway = gateway;
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    await this.feed?.stop();
  }

  health(): Health {
    return this.gateway ? HEALTHY : { ok: false, reason: 'the gateway has not started' };
  }

  /** Its counters, for /status; null before it starts. */
  stats(): ReturnType<Gateway['stats']> | null {
    return this.gateway?.stats() ?? null;
  }

  /** Where its live feed comes from, for /status: the change log (when there is one and it answers) or the outbox, and its batches by source. */
  feedStatus(): { position: number; fromLog: boolean | null; batches: Record<string, number> } | null {
    const f = this.feed;
    if (!f) return null;
    return { position: f.position, fromLog: this.opts.changeLog ? f.onLog : null, batches: { ...f.sources } };
  }

  /** The tables it streams. */
  get channels(): string[] {
    return this.gateway?.channels ?? [];
  }
}
