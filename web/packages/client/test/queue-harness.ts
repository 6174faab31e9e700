// What the write queue's tests share: a real HTTP server per test (test/write-server.ts),
// queues made against it and closed after the test, a clock the test moves, and waits
// for states (never for durations).
import { afterEach, beforeEach } from 'vitest';
import { ManualClock } from '../src/testing/clock.js';
import { createWriteQueue, type WriteEntry, type WriteEvent, type WriteQueue, type WriteQueueOptions, type WriteState } from '../src/writes/queue.js';
import { memoryStorage, type QueueStorage } from '../src/writes/storage.js';
import { startWriteServer, type WriteServer } from './write-server.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const poll = () => new Promise((resolve) => setTimeout(resolve, 5));
/** Lets every callback already due run (promise chains, a store's saves): whatever the queue would start now, it has. */
export const settle = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * Waits for a state; the limit only turns a hang into a failure that names what never came,
 * what the server saw and (through `detail`) what the queue holds. It is above the queues'
 * requestTimeoutMs (10 s), so that a request left unanswered on a loaded machine is sent
 * again by the queue itself within the wait, and below the test's own timeout (30 s), so
 * that a hang fails here, with its detail, rather than there.
 */
export async function waitFor(what: string, probe: () => boolean, ms = 20_000, detail: () => string = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) {
      const seen = server ? server.requests.map((r) => `${r.method} ${r.path} ${r.outcome ?? 'unanswered'}`).join('; ') : 'no server';
      throw new Error(`timed out waiting for ${what}; the server saw: ${seen || 'no request'}${detail()}`);
    }
    await poll();
  }
}

/** The current test's server. */
export let server: WriteServer;
let open: WriteQueue[] = [];

export function makeQueue(opts: Partial<WriteQueueOptions> = {}): { q: WriteQueue; events: WriteEvent[]; storage: QueueStorage; fetches: () => number } {
  const events: WriteEvent[] = [];
  const storage = opts.storage ?? memoryStorage();
  let fetches = 0;
  const inner = opts.fetch ?? fetch;
  const q = createWriteQueue({
    baseUrl: server.url,
    backoff: { baseMs: 20, maxMs: 200, jitter: 0 },
    requestTimeoutMs: 10_000,
    ...opts,
    // Counted as the queue calls it, before anything reaches the server.
    fetch: (url, init) => (fetches++, inner(url, init)),
    storage,
    onEvent: (e) => events.push(e),
  });
  open.push(q);
  return { q, events, storage, fetches: () => fetches };
}

/** A queue on a clock the test moves. */
export function onClock(opts: Partial<WriteQueueOptions> = {}) {
  const clock = new ManualClock();
  return { clock, ...makeQueue({ ...opts, now: clock.now, timers: clock.timers }) };
}

export const retries = (events: WriteEvent[]) => events.flatMap((e) => (e.type === 'retrying' ? [e] : []));

export const find = (q: WriteQueue, e: WriteEntry): WriteEntry | undefined => q.entries().find((x) => x.id === e.id);
export const stateOf = (q: WriteQueue, e: WriteEntry): WriteState | undefined => find(q, e)?.state;
export const until = (q: WriteQueue, e: WriteEntry, state: WriteState, ms?: number) =>
  waitFor(`${e.kind} ${e.rowId} ${state}`, () => stateOf(q, e) === state, ms, () => `; the queue holds: ${q.entries().map((x) => `${x.kind} ${x.rowId} ${x.state} (attempts ${x.attempts})`).join('; ') || 'nothing'}; paused: ${q.paused}`);
export const requestLine = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** A server for each test of the file, and its queues closed after it. */
export function useWriteServer(): void {
  beforeEach(async () => {
    server = await startWriteServer();
  });
  afterEach(async () => {
    for (const q of open) await q.close();
    open = [];
    await server.stop();
  });
}
