// Live windows through the run's faults: users whose memberships the run never changes
// (viewers of every pinned project) each keep @realtime/client's window of one pinned
// project's jobs, a few rows a page, filtered by project or by project and status, and
// load the next page at seeded moments while writers, restarts, crashes and a restore go
// on. At the end each window must hold exactly what the API reads of the same set up to
// the window's end, in the same order, and its total must be the set's size.
import type { Socket } from 'socket.io-client';
import { compareTuples, createRealtime, LiveWindowController, tupleOf, type LiveWindow, type RealtimeClient, type Row } from '@realtime/client';
import type { ListPage } from '@realtime/protocol';
import type { Rng } from './rng';
import { sleep, waitFor, type Stack } from './stack';
import { fetchToken, signIn } from './users';

/** Rows a page: small, so that a run crosses many seams. */
export const WINDOW_PAGE = 6;
/** Jobs given to each windowed project at the start (three to a second: ties in the order), so that there are pages to load. */
const SEEDED_JOBS = 90;

export interface WindowSpec {
  index: number;
  email: string;
  project: string;
  status: 'processing' | null;
  gateway: number;
}

/** The windows a run keeps: one per pinned project, every other one narrowed to one status. */
export function planWindows(count: number, pinned: readonly string[], gateways: number): WindowSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    email: `chaos-window-${i + 1}@chaos.test`,
    project: pinned[i % pinned.length]!,
    status: i % 2 === 1 ? 'processing' : null,
    gateway: i % gateways,
  }));
}

export interface WindowDiff {
  missing: number;
  extra: number;
  misplaced: number;
  differing: number;
  totalOff: boolean;
  first: string | null;
}

const canonical = (row: Record<string, unknown>) => JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k]]));

/** A window against a fresh read of its set up to its end: rows by id, their order, their content, and the total. */
export function compareWindow(label: string, window: Pick<LiveWindow<Row>, 'items' | 'total'>, fresh: readonly Row[], freshTotal: number): WindowDiff {
  const d: WindowDiff = { missing: 0, extra: 0, misplaced: 0, differing: 0, totalOff: window.total !== freshTotal, first: null };
  if (d.totalOff) d.first = `${label}: total ${window.total}, the set holds ${freshTotal}`;
  const mine = new Map(window.items.map((r, i) => [String(r.id), { r, i }]));
  const theirs = new Set(fresh.map((r) => String(r.id)));
  fresh.forEach((row, i) => {
    const m = mine.get(String(row.id));
    if (!m) {
      d.missing++;
      d.first ??= `${label}: row ${String(row.id)} (place ${i}) is in the set but not in the window`;
    } else if (canonical(m.r) !== canonical(row)) {
      d.differing++;
      d.first ??= `${label}: row ${String(row.id)} differs: window ${canonical(m.r)} API ${canonical(row)}`;
    } else if (m.i !== i) {
      d.misplaced++;
      d.first ??= `${label}: row ${String(row.id)} is at place ${m.i} in the window, ${i} in the set`;
    }
  });
  for (const r of window.items) {
    if (theirs.has(String(r.id))) continue;
    d.extra++;
    d.first ??= `${label}: row ${String(r.id)} is in the window but not in the set`;
  }
  return d;
}

const pageQuery = (spec: WindowSpec, after: string | null, limit: number) => {
  const q = new URLSearchParams({ projectId: spec.project, limit: String(limit) });
  if (spec.status) q.set('status', spec.status);
  if (after) q.set('after', after);
  return q;
};

async function readPage(base: string, cookie: string, q: URLSearchParams, signal?: AbortSignal): Promise<ListPage<Row>> {
  const res = await fetch(`${base}/api/extraction-jobs?${q}`, { headers: { cookie }, signal: signal ?? AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET extraction-jobs: HTTP ${res.status}`);
  return (await res.json()) as ListPage<Row>;
}

export class ChaosWindows {
  readonly specs: WindowSpec[];
  private readonly live: { spec: WindowSpec; cookie: string; client: RealtimeClient<Socket>; window: LiveWindowController<Row> }[] = [];
  private ticking = false;
  private ticker: Promise<void> = Promise.resolve();
  /** Pages merged across the run, for the summary. */
  pagesLoaded = 0;

  constructor(
    private readonly s: Stack,
    count: number,
    pinned: readonly string[],
    private readonly gatewayUrl: (i: number) => string,
    gateways: number,
    private readonly r: Rng,
    private readonly note: (line: string) => void = () => undefined,
  ) {
    this.specs = planWindows(count, pinned, gateways);
  }

  /** The window users (viewers of every pinned project, with the run's password), signed in, their windows open. */
  async start(password: string, passwordOf: string): Promise<void> {
    if (!this.specs.length) return;
    await this.s.query(`INSERT INTO users (email, password_hash) SELECT e, (SELECT password_hash FROM users WHERE email = $1) FROM unnest($2::text[]) e`, [passwordOf, this.specs.map((w) => w.email)]);
    await this.s.query(`INSERT INTO project_members (project_id, user_id, role) SELECT p, u.id, 'viewer' FROM unnest($1::uuid[]) p, users u WHERE u.email = ANY($2::text[])`, [
      [...new Set(this.specs.map((w) => w.project))],
      this.specs.map((w) => w.email),
    ]);
    await this.s.query(
      `INSERT INTO extraction_jobs (project_id, document_name, status, created_at)
       SELECT p, 'window-seed-' || g || '.pdf', (ARRAY['queued','processing','completed','failed'])[1 + g % 4], now() - (g / 3) * interval '1 second'
         FROM unnest($1::uuid[]) p, generate_series(1, $2) g`,
      [[...new Set(this.specs.map((w) => w.project))], SEEDED_JOBS],
    );
    for (const spec of this.specs) {
      const base = this.gatewayUrl(spec.gateway);
      const cookie = await signIn(base, spec.email, password);
      const client = createRealtime({ url: base, getToken: () => fetchToken(base, cookie), backoff: { baseMs: 200, maxMs: 2000 } });
      client.start();
      const window = new LiveWindowController<Row>({
        client,
        channel: 'extraction_jobs',
        filter: spec.status ? { projectId: spec.project, status: spec.status } : { projectId: spec.project },
        fetchPage: ({ after, signal }) => readPage(base, cookie, pageQuery(spec, after, WINDOW_PAGE), signal),
      });
      window.listen((st) => {
        if (st.error) this.note(`window ${spec.index}: ${(st.error as Error).message}`);
      });
      window.start();
      this.live.push({ spec, cookie, client, window });
    }
    this.ticking = true;
    this.ticker = this.tick();
  }

  /** The next page of a window now and then, at seeded moments, through whatever fault is on. */
  private async tick(): Promise<void> {
    while (this.ticking) {
      await sleep(this.r.int(300, 1500));
      if (!this.ticking) return;
      const w = this.r.pick(this.live).window;
      const before = w.state.window?.end;
      await w.loadMore();
      if (w.state.window && w.state.window.end !== before) this.pagesLoaded++;
    }
  }

  /** No more pages asked; what is in flight lands. */
  async stopLoading(): Promise<void> {
    this.ticking = false;
    await this.ticker;
  }

  /**
   * Each window has what was written before now: a marker job written last into its
   * project, of its status, reaches it (the stream passes it whether or not it lies
   * within the window's end).
   */
  async settle(timeoutMs = 120_000): Promise<void> {
    for (const { spec, window } of this.live) {
      const [row] = await this.s.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name, status) VALUES ($1, $2, $3) RETURNING id`, [
        spec.project,
        `window-marker-${spec.index}.pdf`,
        spec.status ?? 'queued',
      ]);
      const seq = await waitFor(
        `the marker of window ${spec.index} stamped`,
        async () => (await this.s.query<{ seq: string | null }>(`SELECT max(seq) AS seq FROM change_outbox WHERE table_name = 'extraction_jobs' AND row_id = $1`, [row!.id]))[0]?.seq ?? null,
        timeoutMs,
        250,
      );
      await waitFor(
        `window ${spec.index} at seq ${seq}`,
        async () => {
          const st = window.state;
          return st.window !== null && st.loading === null && st.window.seq >= Number(seq);
        },
        timeoutMs,
        100,
      );
    }
  }

  /** Every window against the API's read of its set up to its end, as its user. */
  async check(): Promise<{ windows: number; rows: number; diff: WindowDiff }> {
    const diff: WindowDiff = { missing: 0, extra: 0, misplaced: 0, differing: 0, totalOff: false, first: null };
    let rows = 0;
    for (const { spec, cookie, window } of this.live) {
      const w = window.state.window!;
      const base = this.gatewayUrl(spec.gateway);
      const end = w.end;
      // The set up to the window's end, read by keyset pages of 500 until one passes the end.
      const fresh: Row[] = [];
      let total = 0;
      let after: string | null = null;
      for (;;) {
        const page = await readPage(base, cookie, pageQuery(spec, after, 500));
        total = page.page.total;
        fresh.push(...page.items);
        const last = page.items.at(-1);
        if (page.page.next === null || (end !== null && last !== undefined && compareTuples(w.order, tupleOf(last, w.order), end) > 0)) break;
        after = page.page.next;
      }
      const kept = end === null ? fresh : fresh.filter((row) => compareTuples(w.order, tupleOf(row, w.order), end) <= 0);
      const d = compareWindow(`window ${spec.index} (${spec.status ?? 'every status'}, ${w.items.length} rows, end ${JSON.stringify(w.end)})`, w, kept, total);
      rows += w.items.length;
      diff.missing += d.missing;
      diff.extra += d.extra;
      diff.misplaced += d.misplaced;
      diff.differing += d.differing;
      diff.totalOff ||= d.totalOff;
      diff.first ??= d.first;
    }
    return { windows: this.live.length, rows, diff };
  }

  stop(): void {
    this.ticking = false;
    for (const { client, window } of this.live) {
      window.stop();
      client.stop();
    }
  }
}
