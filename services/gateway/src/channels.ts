// The channels a gateway serves: every streamed table the catalog shows (PG_CHANNELS
// only narrows), with its columns and project column, so that a filter on a field that
// does not exist is refused by name and a grant is judged by the column the capture
// trigger records. A table declared while the gateway runs (realtime_enable) is served
// without a restart: realtime_enable sends NOTIFY realtime_catalog, a subscribe to an
// unknown channel reads the catalog again (at most once a second), and a slow periodic
// read covers a lost LISTEN connection (every minute while it is lost) and changes that
// send nothing (ALTER TABLE; every 5 minutes).
import type pg from 'pg';
import { CATALOG_CHANNEL, loadStreamedTables, openListener, type StreamedTable } from '@realtime/db';
import type { Logger } from '@realtime/runtime';

export interface ChannelCatalogOptions {
  pool: pg.Pool;
  log: Logger;
  /** PG_CHANNELS: serve only these; empty or absent, every streamed table. */
  only?: string[];
  /** Where to LISTEN (a direct connection); without it, only the re-reads below. */
  listenUrl?: string;
  /** The fallback re-read (and LISTEN reconnection), in ms. */
  refreshMs?: number;
  /** At most one re-read per this many ms on behalf of subscribes to unknown channels. */
  missRefreshMs?: number;
}

/** While the catalog's LISTEN is up, the periodic re-read runs once in this many periods (5 min at 60 s). */
export const LISTENING_REFRESH_EVERY = 5;

export class ChannelCatalog {
  private tables = new Map<string, StreamedTable>();
  private readonly only: Set<string> | null;
  private readonly log: Logger;
  private reading: Promise<void> | null = null;
  private again: Promise<void> | null = null;
  private loaded = false;
  private lastMissRead = 0;
  private listener: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  private constructor(private readonly opts: ChannelCatalogOptions) {
    this.only = opts.only?.length ? new Set(opts.only) : null;
    this.log = opts.log.child({ component: 'catalog' });
  }

  /**
   * The catalog as it stands; PG_CHANNELS naming a table that does not exist or is not
   * streamed is an error that names the fix.
   */
  static async load(opts: ChannelCatalogOptions): Promise<ChannelCatalog> {
    const catalog = new ChannelCatalog(opts);
    await catalog.read();
    const missing = [...(catalog.only ?? [])].filter((c) => !catalog.tables.has(c));
    if (missing.length) {
      const { rows } = await opts.pool.query<{ name: string }>(`SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(format('public.%I', name)) IS NOT NULL`, [missing]);
      const exist = new Set(rows.map((r) => r.name));
      const absent = missing.filter((c) => !exist.has(c));
      if (absent.length) throw new Error(`PG_CHANNELS names ${absent.join(', ')}, which the database has no table for; fix PG_CHANNELS or migrate`);
      throw new Error(`PG_CHANNELS names ${missing.join(', ')}, whose changes are not captured; add SELECT realtime_enable('${missing[0]}', 'id', 'project_id'); to a migration`);
    }
    return catalog;
  }

  get(channel: string): StreamedTable | undefined {
    return this.tables.get(channel);
  }

  get names(): string[] {
    return [...this.tables.keys()];
  }

  /**
   * Reads the catalog again. A request made while a read runs gets one read after it (that
   * read may have begun before the declaration committed), shared by every such request.
   */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again ??= this.reading.then(() => {
        this.again = null;
        return this.stopped ? undefined : this.refresh();
      });
      return this.again;
    }
    this.reading = this.read()
      .catch((err: unknown) => this.log.warn({ err }, 'reading the catalog of streamed tables failed; the next re-read tries again'))
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }

  /** For a subscribe to a channel not (yet) known: a fresh read, but at most one per missRefreshMs. */
  async refreshOnMiss(): Promise<void> {
    if (this.reading) return this.reading;
    const now = Date.now();
    if (now - this.lastMissRead < (this.opts.missRefreshMs ?? 1000)) return;
    this.lastMissRead = now;
    return this.refresh();
  }

  private async read(): Promise<void> {
    const all = await loadStreamedTables(this.opts.pool);
    const next = new Map([...all].filter(([name]) => !this.only || this.only.has(name)));
    const added = [...next.keys()].filter((n) => !this.tables.has(n));
    const first = !this.loaded;
    this.tables = next;
    this.loaded = true;
    if (added.length && !first) this.log.info({ channels: added }, 'new streamed tables: now served');
  }

  /** LISTEN for declarations, and the periodic re-read (which also reopens a lost LISTEN). */
  start(): void {
    if (this.timer || this.stopped) return;
    void this.listen();
    let ticks = 0;
    this.timer = setInterval(() => {
      // While LISTEN works, NOTIFY brings declarations: the re-read only covers what sends
      // nothing (ALTER TABLE), and each costs Postgres a few thousand catalog rows per gateway.
      if (!this.listener || ++ticks % LISTENING_REFRESH_EVERY === 0) void this.refresh();
      if (!this.listener) void this.listen();
    }, this.opts.refreshMs ?? 60_000);
    this.timer.unref();
  }

  private async listen(): Promise<void> {
    if (this.listener || this.stopped || !this.opts.listenUrl) return;
    try {
      const client = await openListener({
        url: this.opts.listenUrl,
        channel: CATALOG_CHANNEL,
        applicationName: 'realtime-gateway-catalog',
        onNotify: () => void this.refresh(),
        onLost: (err, lost) => {
          if (this.listener !== lost) return;
          this.listener = null;
          this.log.warn({ err }, 'catalog LISTEN connection lost; listening again in a second (the periodic re-read covers if that fails)');
          // A Postgres restart takes every session: listen again soon, and read what a
          // NOTIFY sent meanwhile would have said.
          setTimeout(() => void this.listen(), 1000).unref();
        },
      });
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.listener = client;
      // A table declared between the first read and this LISTEN sent its NOTIFY to nobody.
      await this.refresh();
    } catch (err) {
      this.log.warn({ err }, 'could not LISTEN for new streamed tables; the periodic re-read covers');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.reading;
  }
}
