// A live window without a framework: reads the first page, subscribes through the
// RealtimeClient with that page's cursor, applies each batch in one step, and extends
// the boundary by the next keyset page on loadMore(), with the changes that arrived
// while that page was in flight applied again across the seam. A resync (history
// changed, retention, membership) starts over from the first page.
import type { ChangeEvent, Filter, ListPage } from '@realtime/protocol';
import type { RealtimeClient } from '../client.js';
import type { Resume } from '../types.js';
import { applyToWindow, extendWindow, windowFromPage, type LiveWindow } from './window.js';

export interface LiveWindowOptions<R> {
  client: Pick<RealtimeClient, 'subscribe'>;
  /** The channel (a table the gateway streams), e.g. 'extraction_jobs'. */
  channel: string;
  /** The same equality filter the pages are read with: the gateway turns a row leaving it into a DELETE, one entering into an INSERT. */
  filter?: Filter;
  /** Reads one keyset page: `after` null for the first, else the window's `next`. */
  fetchPage: (p: { after: string | null; signal: AbortSignal }) => Promise<ListPage<R>>;
  /** A window kept from before (a persisted one): followed from its position without reading a page. */
  initial?: LiveWindow<R>;
  /**
   * A failed read of the first page is tried again after `retry(attempt)` ms (attempt 1,
   * 2, ...): without the first page there is no window to follow. Default: 250 ms doubling
   * to 10 s. A failed loadMore is not tried again: the caller asks again.
   */
  retry?: (attempt: number) => number;
}

/** 250 ms, 500 ms, 1 s, ... up to 10 s. */
export const firstPageRetry = (attempt: number): number => Math.min(10_000, 250 * 2 ** Math.max(0, attempt - 1));

export interface LiveWindowState<R> {
  window: LiveWindow<R> | null;
  /** What is being read: the first page (at start and after a resync), the next one, or nothing. */
  loading: 'first' | 'more' | null;
  /** The last failed read, until the next one succeeds. */
  error: unknown;
}

export class LiveWindowController<R> {
  private current: LiveWindowState<R>;
  private readonly listeners = new Set<(s: LiveWindowState<R>) => void>();
  private unsubscribe: (() => void) | null = null;
  private abort: AbortController | null = null;
  /** The changes received since the next page's request was sent; null with none in flight. */
  private buffered: ChangeEvent[] | null = null;
  private more: Promise<void> | null = null;
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: LiveWindowOptions<R>) {
    this.current = { window: opts.initial ?? null, loading: null, error: null };
  }

  get state(): LiveWindowState<R> {
    return this.current;
  }

  listen(fn: (s: LiveWindowState<R>) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.current.window) this.follow();
    else void this.readFirst();
  }

  stop(): void {
    this.generation++;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.abort?.abort();
    this.abort = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.buffered = null;
    this.more = null;
  }

  /** Extends the window by the next page; resolves when it is merged (at once when there is none). */
  loadMore(): Promise<void> {
    const w = this.current.window;
    if (this.more) return this.more;
    if (!w || w.next === null || this.current.loading === 'first') return Promise.resolve();
    const generation = this.generation;
    const abort = (this.abort = new AbortController());
    // From before the request is sent: every change the page's snapshot may or may not hold.
    this.buffered = [];
    this.set({ loading: 'more' });
    const run = async () => {
      try {
        const page = await this.opts.fetchPage({ after: w.next, signal: abort.signal });
        if (generation !== this.generation) return;
        this.set({ window: extendWindow(this.current.window!, page, this.buffered ?? []), loading: null, error: null });
      } catch (error) {
        if (generation === this.generation) this.set({ loading: null, error });
      } finally {
        if (generation === this.generation) {
          this.buffered = null;
          this.more = null;
          this.abort = null;
        }
      }
    };
    return (this.more = run());
  }

  private async readFirst(attempt = 1): Promise<void> {
    this.stop();
    const generation = this.generation;
    const abort = (this.abort = new AbortController());
    this.set({ loading: 'first' });
    try {
      const page = await this.opts.fetchPage({ after: null, signal: abort.signal });
      if (generation !== this.generation) return;
      this.abort = null;
      this.set({ window: windowFromPage(page), loading: null, error: null });
      this.follow();
    } catch (error) {
      if (generation !== this.generation) return;
      // The rows shown so far stay (with the error) until a read succeeds.
      this.set({ loading: null, error });
      const wait = (this.opts.retry ?? firstPageRetry)(attempt);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (generation === this.generation) void this.readFirst(attempt + 1);
      }, wait);
    }
  }

  private follow(): void {
    const resume = (): Resume => {
      const w = this.current.window!;
      return w.seq > 0 ? { cursor: w.cursor, since: w.seq, ...(w.fp ? { fp: w.fp } : {}) } : { cursor: w.cursor };
    };
    this.unsubscribe = this.opts.client.subscribe(
      { channel: this.opts.channel, ...(this.opts.filter ? { filter: this.opts.filter } : {}), resume },
      {
        onChanges: (events) => {
          this.buffered?.push(...events);
          const w = this.current.window!;
          const next = applyToWindow(w, events);
          if (next !== w) this.set({ window: next });
        },
        onResync: () => void this.readFirst(),
      },
    );
  }

  private set(patch: Partial<LiveWindowState<R>>): void {
    this.current = { ...this.current, ...patch };
    for (const fn of this.listeners) fn(this.current);
  }
}
