// A real stack for gateway tests: the replicator, a feed, the gateway on a real HTTP
// server, and socket.io-client connections, against a test database.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { io, type Socket } from 'socket.io-client';
import { fingerprint, fingerprintInputSql } from '@realtime/db';
import { createLogger, type Logger } from '@realtime/runtime';
import { Replicator } from '@realtime/replicator';
import { PROTOCOL_VERSION, unbatch, type ChangeEvent, type ClientToServerEvents, type Grant, type LiveEvent, type ResyncEvent, type ServerToClientEvents, type SubscribeAck, type SubscribeRequest } from '@realtime/protocol';
import { Feed, type LogSource } from '../src/feed';
import type { GatewayLimits, Heartbeat } from '../src/gateway';
import { Gateway, type GatewayOptions } from '../src/gateway';
import { ChannelCatalog } from '../src/channels';
import { ReplayRing, type RingBounds } from '../src/replay/ring';
import type { ReplayLog } from '../src/replay/sources';
import { signToken } from '@realtime/auth';
import { waitFor } from '@realtime/testkit';

export { waitFor };

export const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { service: 'test' });
export const secret = new TextEncoder().encode('test-secret-test-secret-test-secret!');

export function startReplicator(url: string): Replicator {
  const r = new Replicator({ directUrl: url, slot: 'realtime_outbox', publication: 'realtime_outbox', batchSize: 2000, lingerMs: 2, safetyPollMs: 200, walRetryMs: 1000, log });
  return r;
}

export interface GatewayHandle {
  port: number;
  gateway: Gateway;
  feed: Feed;
  /** The HTTP server the gateway is attached to (the API's routes share it in `npm start`). */
  server: http.Server;
  stop(): Promise<void>;
}

export interface GatewayStartOptions {
  replicator?: Replicator;
  limits?: Partial<GatewayLimits>;
  failQuery?: (sql: string) => boolean;
  /** Sees every statement of the stack's pool (the feed's, the catalog's and the gateway's) as it is sent. */
  onQuery?: (sql: string) => void;
  channels?: string[];
  /** The secret of tokens and list cursors (default `secret`): an API's, to take the cursors of its lists. */
  jwtSecret?: Uint8Array;
  /** The gateway's logger (default `log`): a test that reads what the gateway logs passes its own. */
  log?: Logger;
  /** The gateway's heartbeat (default DEFAULT_HEARTBEAT): longer for a test whose client stops reading on purpose. */
  heartbeat?: Heartbeat;
  /** The shared change log its feed reads (REDIS_URL). */
  changeLog?: LogSource;
  /** The bounds of its ring of recent feed batches that replays read first (default: no ring). */
  ring?: RingBounds;
  /** The shared change log its replays read pages from (default: none, the outbox). */
  replayLog?: ReplayLog;
  /** Each user's sockets counted across gateways (REDIS_URL's leases). */
  sharedSockets?: GatewayOptions['sharedSockets'];
}

export async function startGateway(url: string, opts: GatewayStartOptions = {}): Promise<GatewayHandle> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  const { failQuery, onQuery } = opts;
  if (failQuery || onQuery) {
    // A database that fails the chosen statements, as one that is restarting does.
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : null;
      if (text !== null) onQuery?.(text);
      return text !== null && failQuery?.(text) ? Promise.reject(new Error('the database system is shutting down')) : query(...args);
    };
  }
  const feed = new Feed({ pool, directUrl: url, log, replicator: opts.replicator, changeLog: opts.changeLog, pollMs: 200 });
  await feed.start();
  const server = http.createServer();
  const gateway = new Gateway({
    httpServer: server,
    pool,
    feed,
    log: opts.log ?? log,
    // Every streamed table, from the catalog, as npm start serves them.
    channels: await ChannelCatalog.load({ pool, log, listenUrl: url, only: opts.channels }),
    frontendUrls: ['http://localhost:3000'],
    jwtSecret: opts.jwtSecret ?? secret,
    limits: { maxSubscriptions: 20, pageSize: 500, ...opts.limits },
    ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}),
    ...(opts.ring ? { ring: new ReplayRing(opts.ring) } : {}),
    ...(opts.replayLog ? { changeLog: opts.replayLog } : {}),
    ...(opts.sharedSockets ? { sharedSockets: opts.sharedSockets } : {}),
  });
  gateway.start();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    gateway,
    feed,
    server,
    async stop() {
      await gateway.stop();
      await feed.stop();
      await new Promise((r) => server.close(r));
      await pool.end();
    },
  };
}

export const token = (grant: Grant = { channels: ['*'], projects: ['*'] }, ttlSeconds = 3600) => signToken(secret, grant, { ttlSeconds });

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

export async function connect(port: number, tok: string | Promise<string>): Promise<Client> {
  const socket: Client = io(`http://127.0.0.1:${port}`, { path: '/ws', transports: ['websocket'], auth: { token: await tok, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return socket;
}

/** What one subscription received: its events in order, and a cache built like the web hook does. */
export class Received {
  readonly changes: ChangeEvent[] = [];
  readonly cache = new Map<string, Record<string, unknown>>();
  lives: LiveEvent[] = [];
  resyncs: ResyncEvent[] = [];
  id = '';

  /** Events that came before the ack told us our id: Socket.IO may deliver them first. */
  private early: [string, ChangeEvent | LiveEvent | ResyncEvent][] = [];

  /** The batches as they came (sizes), for tests of batching itself. */
  readonly batches: number[] = [];

  constructor(readonly socket: Client) {
    socket.on('changes', (b) => {
      if (b.sub === this.id || !this.id) this.batches.push(b.changes.length);
      for (const e of unbatch(b)) this.take('change', e);
    });
    socket.on('live', (e) => this.take('live', e));
    socket.on('resync', (e) => this.take('resync', e));
  }

  private take(kind: string, e: ChangeEvent | LiveEvent | ResyncEvent): void {
    if (!this.id) {
      this.early.push([kind, e]);
      return;
    }
    if (e.sub !== this.id) return;
    if (kind === 'live') this.lives.push(e as LiveEvent);
    else if (kind === 'resync') this.resyncs.push(e as ResyncEvent);
    else {
      const c = e as ChangeEvent;
      this.changes.push(c);
      if (c.op === 'DELETE') this.cache.delete(String(c.old?.id));
      else this.cache.set(String(c.row?.id), c.row!);
    }
  }

  get seqs(): number[] {
    return this.changes.map((c) => c.seq);
  }

  get lastSeq(): number {
    return this.changes.at(-1)?.seq ?? 0;
  }

  /** The fingerprint of the last change received: what a resume from `lastSeq` sends as `fp`. */
  get lastFp(): string | undefined {
    return this.changes.at(-1)?.fp;
  }

  /** Where a resume starts from what this subscription received: `since` and its `fp`. */
  get position(): { since: number; fp?: string } {
    const fp = this.lastFp;
    return fp ? { since: this.lastSeq, fp } : { since: this.lastSeq };
  }

  async subscribe(req: SubscribeRequest): Promise<SubscribeAck> {
    const ack = await this.socket.timeout(10_000).emitWithAck('subscribe', req);
    if (ack.ok) {
      this.id = ack.id;
      const early = this.early;
      this.early = [];
      for (const [kind, e] of early) this.take(kind, e);
    }
    return ack;
  }
}


/** The fingerprint of the change stamped `seq`, read from the outbox (undefined for 0 or no row): a position's `fp`. */
export async function fpAt(pool: pg.Pool, seq: number): Promise<string | undefined> {
  if (seq <= 0) return undefined;
  const { rows } = await pool.query<{ input: string }>(`SELECT ${fingerprintInputSql()} AS input FROM change_outbox WHERE seq = $1`, [seq]);
  return rows[0] ? fingerprint(rows[0].input) : undefined;
}

/** `since: seq` with the fingerprint the outbox has for it now: a resume as a client that saw that change makes it. */
export async function positionAt(pool: pg.Pool, seq: number): Promise<{ since: number; fp?: string }> {
  if (seq === 0) return { since: 0 };
  // The feed may have sent a change before its stamp is in the outbox (early delivery):
  // its fingerprint is readable once the stamp lands, a few milliseconds later.
  const fp = await waitFor(`the fingerprint of seq ${seq}`, () => fpAt(pool, seq), 10_000);
  return { since: seq, fp };
}

export async function headSeq(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(`SELECT coalesce(max(seq), 0)::int AS h, count(*) FILTER (WHERE seq IS NULL)::int AS u FROM change_outbox`);
  return rows[0].u === 0 ? rows[0].h : -1;
}

/** Seqs of the outbox changes on `table` whose new or old row has `column` = `value` (the test's own oracle). */
export async function expectedSeqs(pool: pg.Pool, table: string, column?: string, value?: string): Promise<number[]> {
  const { rows } = await pool.query(
    `SELECT seq::int FROM change_outbox WHERE table_name = $1 AND seq IS NOT NULL
       AND ($2::text IS NULL OR new_row ->> $2 = $3 OR old_row ->> $2 = $3) ORDER BY seq`,
    [table, column ?? null, value ?? null],
  );
  return rows.map((r) => r.seq as number);
}

export async function newProject(pool: pg.Pool, name = 'p'): Promise<string> {
  const { rows } = await pool.query(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name]);
  return rows[0].id;
}

/** Random job activity on the given projects: inserts, updates (progress), deletes. */
export async function jobChurn(url: string, projectIds: string[], opts: { changes: number; writers?: number; signal?: { stop: boolean } }): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: opts.writers ?? 2 });
  pool.on('error', () => undefined);
  let done = 0;
  try {
    await Promise.all(
      Array.from({ length: opts.writers ?? 2 }, async (_, w) => {
        const mine: string[] = [];
        while (done < opts.changes && !opts.signal?.stop) {
          const r = Math.random();
          const project = projectIds[Math.floor(Math.random() * projectIds.length)]!;
          if (mine.length < 3 || r < 0.4) {
            const { rows } = await pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id`, [project, `w${w}.pdf`]);
            mine.push(rows[0].id);
          } else if (r < 0.9) {
            const id = mine[Math.floor(Math.random() * mine.length)]!;
            await pool.query(`UPDATE extraction_jobs SET progress = (progress + 7) % 100, status = 'processing' WHERE id = $1`, [id]);
          } else {
            const id = mine.splice(Math.floor(Math.random() * mine.length), 1)[0]!;
            await pool.query(`DELETE FROM extraction_jobs WHERE id = $1`, [id]);
          }
          done++;
        }
      }),
    );
    return done;
  } finally {
    await pool.end();
  }
}

export interface Stack {
  db: TestDatabase;
  pool: pg.Pool;
  replicator: Replicator;
  gw: GatewayHandle;
  /** A connected client (all-granting token unless given one), disconnected after the file. */
  client(tok?: string | Promise<string>, port?: number): Promise<Client>;
  /** Waits until every change is stamped and every given gateway's feed has it. */
  settled(...others: GatewayHandle[]): Promise<number>;
}

/** A user row, as the API's sign-up makes it. */
export async function addUser(pool: pg.Pool, email: string): Promise<string> {
  return (await pool.query<{ id: string }>(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [email])).rows[0]!.id;
}

/**
 * A test file's database, replicator and gateway (in-process rows), torn down after it;
 * `gateway` adds options of the gateway (limits, a watch on its statements).
 */
export function useStack(opts: { maxSubscriptions?: number; gateway?: Omit<GatewayStartOptions, 'replicator'> } = {}): Stack {
  const clients: Client[] = [];
  const stack = {
    async client(tok: string | Promise<string> = token(), port?: number) {
      const c = await connect(port ?? stack.gw.port, tok);
      clients.push(c);
      return c;
    },
    settled(...others: GatewayHandle[]) {
      return waitFor('every change stamped and fed', async () => {
        const h = await headSeq(stack.pool);
        return h >= 0 && [stack.gw, ...others].every((g) => g.feed.position === h) ? h : null;
      });
    },
  } as Stack;
  beforeAll(async () => {
    stack.db = await createTestDatabase();
    stack.pool = new pg.Pool({ connectionString: stack.db.url, max: 6 });
    stack.pool.on('error', () => undefined);
    stack.replicator = startReplicator(stack.db.url);
    await stack.replicator.start();
    const limits = { ...opts.gateway?.limits, ...(opts.maxSubscriptions ? { maxSubscriptions: opts.maxSubscriptions } : {}) };
    stack.gw = await startGateway(stack.db.url, { ...opts.gateway, replicator: stack.replicator, limits });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await stack.gw?.stop();
    await stack.replicator?.stop();
    await stack.pool?.end();
    await stack.db?.drop();
  });
  return stack;
}

/** A project made by a user as the API makes it: the trigger makes its creator its owner. */
export async function projectOf(pool: pg.Pool, userId: string, name: string): Promise<string> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('app.user_id', $1, true)`, [userId]);
    const { rows } = await c.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name]);
    await c.query('COMMIT');
    return rows[0]!.id;
  } finally {
    c.release();
  }
}
