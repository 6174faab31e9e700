// A subscriber as a browser tab runs it: a list read over HTTP (rows and a cursor) or a
// replay from seq 0, then one socket.io-client subscription kept live. Like the web
// hook it resumes from the last applied seq after a reconnect, refetches on resync and
// applies changes with the web app's own reducer. Every seq it receives is kept, per
// subscription life (an "epoch"), for the checker.
import { io, type Socket } from 'socket.io-client';
import { WS_PATH, type ChangeEvent, type LiveEvent, type ResyncEvent, type SubscribeAck } from '@realtime/protocol';
import { reduce, type LiveList, type Row } from '@realtime/web/src/realtime/reducer';
import type { SubscriberPlan } from './plan';
import { sleep } from './stack';

export type SubSpec = SubscriberPlan;

interface Held {
  kind: 'change' | 'live' | 'resync';
  event: ChangeEvent | LiveEvent | ResyncEvent;
}

export type EpochStart = { since: number } | { cursor: string };

export interface Epoch {
  start: EpochStart;
  received: number[];
  /** Why it ended (a resync reason), or null while it goes on. */
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

/** A list exactly as the API gives it, narrowed to the filter, with its cursor. */
export async function fetchList(base: string, channel: string, filter: Record<string, string>): Promise<{ items: Row[]; cursor: string }> {
  const query = new URLSearchParams({ limit: '500' });
  // The API narrows children by project; any other filter column is applied here, on
  // the same snapshot, so the cursor still describes exactly these rows.
  if (filter.project_id && channel !== 'projects') query.set('projectId', filter.project_id);
  const res = await fetch(`${base}/api/${apiPath[channel]}?${query}`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${apiPath[channel]}: HTTP ${res.status}`);
  const body = (await res.json()) as { items: Row[]; cursor: string; page: { nextOffset: number | null } };
  if (body.page.nextOffset !== null) throw new Error(`the ${channel} list is longer than one page of 500; the workload's caps must keep it shorter`);
  const items = body.items.filter((row) => Object.entries(filter).every(([col, v]) => String(row[camel(col)]) === v));
  return { items, cursor: body.cursor };
}

export class Subscriber {
  readonly epochs: Epoch[] = [];
  list: LiveList = { items: [], seq: 0 };
  socket: Socket | null = null;
  resyncs = 0;
  strays = 0;
  /** INTERNAL refusals, each asked again. */
  refusals = 0;
  subscribeErrors: string[] = [];
  private serverId: string | null = null;
  private live = false;
  private refetching = false;
  private early: Held[] = [];
  private closed = false;
  private stallOnConnect = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly spec: SubSpec,
    private readonly base: string,
    private readonly token: string,
  ) {}

  get label(): string {
    const f = Object.entries(this.spec.filter).map(([k, v]) => `${k}=${v.slice(0, 8)}`).join(',');
    return `subscriber ${this.spec.index} (${this.spec.channel}${f ? ` ${f}` : ''}, ${this.spec.start})`;
  }

  get joined(): boolean {
    return this.socket !== null;
  }

  /** Subscribed, replay done, nothing pending: what it has is what the server has sent. */
  get isLive(): boolean {
    return this.live && !this.refetching && this.serverId !== null;
  }

  get current(): Epoch | undefined {
    return this.epochs.at(-1);
  }

  async join(): Promise<void> {
    if (this.spec.start === 'list') await this.refetch();
    else this.epochs.push({ start: { since: 0 }, received: [], endedBy: null });
    const socket = io(this.base, { path: WS_PATH, transports: ['websocket'], auth: { token: this.token }, reconnectionDelay: 200, reconnectionDelayMax: 2000, forceNew: true });
    this.socket = socket;
    socket.on('connect', () => {
      this.subscribe();
      if (this.stallOnConnect) this.stallFor(this.stallOnConnect);
      this.stallOnConnect = 0;
    });
    socket.on('disconnect', () => {
      this.serverId = null;
      this.live = false;
      this.early = [];
    });
    socket.on('change', (e: ChangeEvent) => this.route('change', e));
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
    this.socket?.disconnect();
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
    if (!socket?.connected || this.refetching || this.closed) return;
    const request = { channel: this.spec.channel, ...(Object.keys(this.spec.filter).length ? { filter: this.spec.filter } : {}), ...this.resume() };
    socket.emit('subscribe', request, (ack: SubscribeAck) => {
      if (!ack.ok) {
        // INTERNAL asks to try again (the gateway's database was away); any other code is a failure.
        if (ack.error.code === 'INTERNAL') this.refusals++;
        else this.subscribeErrors.push(`${ack.error.code}: ${ack.error.message}`);
        this.retryTimer = setTimeout(() => this.subscribe(), 500);
        return;
      }
      if (socket !== this.socket || !socket.connected) return;
      this.serverId = ack.id;
      const held = this.early;
      this.early = [];
      for (const h of held) this.route(h.kind, h.event);
    });
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
      this.current!.received.push(c.seq);
      this.list = reduce(this.list, [c]);
    } else if (kind === 'live') {
      this.live = true;
    } else {
      this.current!.endedBy = (e as ResyncEvent).reason;
      this.resyncs++;
      this.serverId = null;
      this.live = false;
      void this.restart();
    }
  }

  /** After resync, as the hook does: read the list again and start over from its cursor. */
  private async restart(): Promise<void> {
    try {
      await this.refetch();
      this.subscribe();
    } catch (err) {
      this.subscribeErrors.push(`refetch after resync failed: ${(err as Error).message}`);
    }
  }

  private async refetch(): Promise<void> {
    this.refetching = true;
    for (let attempt = 0; ; attempt++) {
      try {
        const { items, cursor } = await fetchList(this.base, this.spec.channel, this.spec.filter);
        this.list = { items, seq: 0 };
        this.epochs.push({ start: { cursor }, received: [], endedBy: null });
        break;
      } catch (err) {
        if (/longer than one page/.test(String(err)) || attempt > 600) {
          this.refetching = false;
          throw err;
        }
        await sleep(250);
      }
    }
    this.refetching = false;
  }
}
