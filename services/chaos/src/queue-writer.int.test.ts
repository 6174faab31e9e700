// The queue writer against a small API over real HTTP, through every fault, until each
// has happened: wall-clock timers drive it, so it runs with the integration tests, not
// the unit ones.
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '@realtime/runtime';
import { FakeApi, waitFor } from '@realtime/testkit';
import { checkQueueWrites, type QueueOutboxRow } from './queue-check';
import { defaultNetFaults } from './faulty-network';
import { QueueWriter, RESOURCE } from './queue-writer';
import { rng } from './rng';

/**
 * A SQL writer behind the API's back: now and then, just before a request for a row is
 * applied, it changes the row (the request then meets a newer version: a conflict) or
 * deletes it (a 404). Driven by the requests, not by a clock, so that every run meets both.
 */
function meddleOnRequests(api: FakeApi, r: ReturnType<typeof rng>): void {
  api.onRequest = (req) => {
    const id = /^\/api\/[a-z-]+\/([^/?]+)$/.exec(req.path)?.[1];
    const row = id === undefined ? undefined : api.table(RESOURCE).get(decodeURIComponent(id));
    if (!row || !r.chance(0.25)) return;
    api.touch(RESOURCE, String(row.id), r.chance(0.3) ? null : { visible: !row.visible }, 'chaos-writer-1');
  };
}

/** The fake API's outbox as the checker reads the real one. */
const outboxOf = (api: FakeApi): QueueOutboxRow[] =>
  api.outbox.map((c) => ({ op: c.op, rowId: c.rowId, name: typeof c.row?.name === 'string' ? c.row.name : null, actor: c.actor, txid: c.txid }));

describe('QueueWriter against a small API', () => {
  let api: FakeApi | null = null;
  let writer: QueueWriter | null = null;
  afterEach(async () => {
    await writer?.close();
    await api?.stop();
  });

  /**
   * A client writing through every fault, fast, while a meddler changes and deletes its
   * rows, until `enough` says its stats have seen what the test needs; then drained and
   * checked. The end is a state, not a duration: a loaded machine only takes longer.
   */
  async function run(a: FakeApi, enough: (w: QueueWriter) => boolean, lose = 0.15) {
    await a.start();
    const w = new QueueWriter({ index: 1, email: 'a@chaos.test', password: 'pw', gateways: [a.url], pinned: ['p1', 'p2'] }, rng(11), createLogger('silent'), () => undefined, {
      tickMs: [2, 10],
      onlineMs: [150, 300],
      offlineMs: [20, 80],
      reloadEveryMs: [100, 250],
      readEveryMs: [50, 150],
    });
    writer = w;
    w.net.faults = { ...defaultNetFaults, fail: 0.1, lose, delayMs: [5, 30] };
    await w.start();
    meddleOnRequests(a, rng(12));
    try {
      await waitFor(() => enough(w), { what: 'the queue writer to meet every fault', timeoutMs: 30_000 });
    } finally {
      await w.stop();
    }
    const drained = await w.drain(Date.now() + 20_000);
    const intended = w.intended();
    return { drained, intended, f: checkQueueWrites(intended, outboxOf(a), [w.actor]), w };
  }

  test('through lost answers, failures, disconnects, reloads and conflicts, every write is applied as often as its queue says', async () => {
    api = new FakeApi({ session: 'rt_session=tok', actor: 'a@chaos.test' });
    const met = (w: QueueWriter) => {
      const refused404 = w.intended().filter((x) => x.outcome === 'refused' && x.status === 404).length;
      const applied = w.intended().filter((x) => x.outcome === 'succeeded').length;
      const { lostResponses, failedBeforeSending } = w.net.stats;
      return applied > 30 && refused404 > 0 && lostResponses > 0 && failedBeforeSending > 0 && w.stats.restarts > 0 && w.stats.disconnects > 0 && w.stats.conflicts > 0;
    };
    const { drained, intended, f, w } = await run(api, met);
    expect(drained).toBe(true);
    expect(f.problems).toEqual([]);
    expect(f.appliedOnce).toBeGreaterThan(30);
    expect(f.appliedOnce + f.refused).toBe(intended.length);
    expect(Object.values(f.byKind).every((n) => n > 0)).toBe(true);
    // The faults did happen.
    expect(w.net.stats.lostResponses).toBeGreaterThan(0);
    expect(w.net.stats.failedBeforeSending).toBeGreaterThan(0);
    expect(w.stats.restarts).toBeGreaterThan(0);
    expect(w.stats.disconnects).toBeGreaterThan(0);
    expect(w.stats.conflicts).toBeGreaterThan(0);
    expect(f.refusals['404']).toBeGreaterThan(0);
  }, 40_000);

  test('an API that ignores the Idempotency-Key is caught applying writes twice', async () => {
    api = new FakeApi({ session: 'rt_session=tok', actor: 'a@chaos.test', idempotent: false });
    // Half the answers lost: every run has retries of writes the server already applied.
    const { f, w } = await run(api, (x) => x.net.stats.lostResponses > 5 && x.stats.retries > 5 && x.stats.restarts > 0, 0.5);
    expect(w.net.stats.lostResponses).toBeGreaterThan(5);
    expect(f.twice + f.refusedApplied).toBeGreaterThan(0);
    expect(f.problems.length).toBeGreaterThan(0);
  }, 40_000);
});
