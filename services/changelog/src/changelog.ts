// The change log on Redis Streams: the IO shell around entries.ts and the append script.
// Two connections: one for commands, one for blocking reads, so that a read waiting for
// the next change never holds up an append or a range behind it.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@realtime/runtime';
import { createClient } from 'redis';
import { checkBatch, checkRetention, decodeEntry, encodeChange, entryId, LogEntryError, seqOfEntryId, type LogChange, type Retention } from './entries';
import { ChangeLogError, NotCurrentError, redactUrl } from './errors';
import { APPEND_SCRIPT, APPEND_SHA, parseAppendReply } from './script';

export interface ChangeLogOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** The first part of every key; `{name}` keeps them in one Redis Cluster slot. Default `realtime`. */
  prefix?: string;
  retention: Retention;
  log: Logger;
}

export interface AppendResult {
  appended: number;
  /** Changes at or below the stream's last seq, already there. */
  skipped: number;
  /** Set when the batch starts after last + 1: nothing was written; fill from here. */
  gapAfter: number | null;
}

export interface ReadOptions {
  /** How long to wait for a change after `afterSeq`; 0 waits until one comes (or close()). */
  blockMs: number;
  count: number;
}

type Client = ReturnType<typeof makeClient>;

/**
 * One connection. `wasReady` says whether it ever reached Redis: a first connect that
 * fails rejects connect() at once (a process must not hang at start on a wrong URL);
 * a connection lost later retries for as long as it takes.
 */
function makeClient(url: string, wasReady: () => boolean) {
  return createClient({
    url,
    // RESP2: stream replies as plain arrays and objects, the shapes decodeEntry reads.
    RESP: 2,
    // A command while Redis is away fails at once (and names the URL) instead of waiting
    // in a queue for a server that may not come back; the connection keeps reconnecting.
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (retries: number, cause: Error) => (wasReady() ? Math.min(50 * 2 ** retries, 2000) : cause),
    },
  });
}

interface RawEntry {
  id: string;
  message: Record<string, string | undefined>;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

function checkAfter(afterSeq: number): void {
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new RangeError(`change log: afterSeq is a whole number >= 0, not ${String(afterSeq)}`);
}

export class ChangeLog {
  readonly prefix: string;
  /** The key whose value names the stream of the current history. */
  readonly currentKey: string;
  private readonly url: string;
  private readonly retention: { maxLen: number | null; minAgeMs: number | null };
  private readonly log: Logger;
  private readonly main: Client;
  private readonly reader: Client;
  private closing = false;

  constructor(opts: ChangeLogOptions) {
    this.prefix = opts.prefix ?? 'realtime';
    if (this.prefix === '') throw new RangeError('change log prefix is empty: leave it unset for `realtime`, or name the deployment');
    this.currentKey = `${this.prefix}:current`;
    this.retention = checkRetention(opts.retention);
    this.url = redactUrl(opts.url);
    this.log = opts.log.child({ component: 'changelog' });
    const main = { ready: false };
    const reader = { ready: false };
    this.main = makeClient(opts.url, () => main.ready);
    this.reader = makeClient(opts.url, () => reader.ready);
    this.watch(this.main, 'commands', main);
    this.watch(this.reader, 'reads', reader);
  }

  /** The stream key of an epoch: `<prefix>:log:<epoch>`. */
  keyOf(epoch: string): string {
    return `${this.prefix}:log:${epoch}`;
  }

  // A lost connection is one warning and one line when it is back, not a line per retry;
  // the listener is also what keeps node-redis's 'error' events from crashing the process.
  private watch(client: Client, role: string, state: { ready: boolean }): void {
    let lost = false;
    client.on('error', (err: unknown) => {
      // Before the first 'ready' the error is connect()'s to report, not a loss.
      if (this.closing || lost || !state.ready) return;
      lost = true;
      this.log.warn({ err, url: this.url, connection: role }, 'lost Redis; reconnecting');
    });
    client.on('ready', () => {
      state.ready = true;
      if (!lost) return;
      lost = false;
      this.log.info({ url: this.url, connection: role }, 'Redis is back');
    });
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof NotCurrentError) throw err;
      throw new ChangeLogError(this.url, op, err);
    }
  }

  /** Connects both connections; rejects (naming the URL) if Redis does not answer the first try. Open already: nothing to do. */
  async connect(): Promise<void> {
    if (this.main.isOpen && this.reader.isOpen) return;
    await this.run('connect', async () => {
      try {
        await this.main.connect();
        await this.reader.connect();
      } catch (err) {
        this.main.destroy();
        this.reader.destroy();
        throw err;
      }
    });
    this.log.debug({ url: this.url, prefix: this.prefix }, 'connected');
  }

  async close(): Promise<void> {
    this.closing = true;
    // The reader may be blocked in XREAD for long: dropped, not waited for.
    if (this.reader.isOpen) this.reader.destroy();
    if (this.main.isOpen) await this.main.close().catch(() => this.main.destroy());
  }

  /** The stream key of the current history, or null before the first openEpoch(). */
  current(): Promise<string | null> {
    return this.run('GET current', () => this.main.get(this.currentKey));
  }

  /** Starts a new history: a fresh stream key, named by `current` from now on (one SET). */
  async openEpoch(): Promise<string> {
    const key = this.keyOf(randomUUID());
    await this.run('SET current', () => this.main.set(this.currentKey, key));
    this.log.info({ key }, 'opened a new change log epoch');
    return key;
  }

  /** The seq and fingerprint of the stream's last entry, or null when it has none. */
  async lastOf(key: string): Promise<{ seq: number; fp: string } | null> {
    const entries = await this.run(`XREVRANGE ${key}`, () => this.main.xRevRange(key, '+', '-', { COUNT: 1 }));
    const e = (entries as RawEntry[] | null)?.[0];
    if (!e) return null;
    const c = decodeEntry(key, e.id, e.message);
    return { seq: c.seq, fp: c.fp };
  }

  /** The seq of the stream's first (oldest kept) entry, or null when it has none. */
  async firstSeq(key: string): Promise<number | null> {
    const entries = await this.run(`XRANGE ${key}`, () => this.main.xRange(key, '-', '+', { COUNT: 1 }));
    const e = (entries as RawEntry[] | null)?.[0];
    if (!e) return null;
    const seq = seqOfEntryId(e.id);
    if (seq === null) throw new LogEntryError(key, e.id, 'its ID is not <seq>-0');
    return seq;
  }

  /**
   * Appends a dense run of changes in one script call: nothing unless `current` still
   * names `key` (NotCurrentError); changes at or below the stream's last seq skipped; the
   * rest only if it starts at last + 1 (else nothing, and `gapAfter` = last); then the
   * retention trim.
   */
  async append(key: string, changes: readonly LogChange[]): Promise<AppendResult> {
    checkBatch(changes.map((c) => c.seq));
    if (changes.length === 0) return { appended: 0, skipped: 0, gapAfter: null };
    const args = [this.retention.maxLen?.toString() ?? '', this.retention.minAgeMs?.toString() ?? ''];
    for (const c of changes) args.push(String(c.seq), encodeChange(c));
    const keys = [this.currentKey, key];
    const reply = await this.run(`append to ${key}`, async () => {
      try {
        return await this.main.evalSha(APPEND_SHA, { keys, arguments: args });
      } catch (err) {
        // A restarted or flushed Redis has lost its script cache: send the script itself.
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return this.main.eval(APPEND_SCRIPT, { keys, arguments: args });
      }
    });
    const r = parseAppendReply(reply);
    if (r.kind === 'not-current') throw new NotCurrentError(key, r.current);
    if (r.kind === 'gap') return { appended: 0, skipped: 0, gapAfter: r.gapAfter };
    return { appended: r.appended, skipped: r.skipped, gapAfter: null };
  }

  /** Up to `count` changes after `afterSeq`, in seq order (fewer at the end of the stream). */
  async range(key: string, afterSeq: number, count: number): Promise<LogChange[]> {
    checkAfter(afterSeq);
    if (!isCount(count)) throw new RangeError(`change log range: count is a whole number >= 1, not ${String(count)}`);
    const entries = await this.run(`XRANGE ${key}`, () => this.main.xRange(key, entryId(afterSeq + 1), '+', { COUNT: count }));
    return ((entries as RawEntry[] | null) ?? []).map((e) => decodeEntry(key, e.id, e.message));
  }

  /**
   * The changes after `afterSeq`: at once when there are some, else waits up to `blockMs`
   * for the next append ([] if none came, or if the log was closed meanwhile). Reads share
   * one blocking connection, so concurrent reads take turns; commands never wait on them.
   */
  async read(key: string, afterSeq: number, opts: ReadOptions): Promise<LogChange[]> {
    checkAfter(afterSeq);
    if (!isCount(opts.count)) throw new RangeError(`change log read: count is a whole number >= 1, not ${String(opts.count)}`);
    if (!Number.isSafeInteger(opts.blockMs) || opts.blockMs < 0) throw new RangeError(`change log read: blockMs is a whole number >= 0, not ${String(opts.blockMs)}`);
    let reply: unknown;
    try {
      reply = await this.run(`XREAD ${key}`, () => this.reader.xRead({ key, id: `${afterSeq}-0` }, { BLOCK: opts.blockMs, COUNT: opts.count }));
    } catch (err) {
      if (this.closing) return [];
      throw err;
    }
    const streams = (reply as { name: string; messages: RawEntry[] }[] | null) ?? [];
    return streams.flatMap((s) => s.messages.map((e) => decodeEntry(key, e.id, e.message)));
  }
}
