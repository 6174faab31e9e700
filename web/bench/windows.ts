// Benchmark (not a test), run by `npm run bench -- windows`: what a live window costs the
// browser, for a project of a few jobs and one of very many, side by side in one run, in
// chromium. Each round opens each project's page cold (a fresh context: no persisted
// window, no HTTP cache) and then warm (the same page reloaded, its window restored from
// IndexedDB), timing from the navigation to the first job row in the page and counting
// the bytes transferred until then (CDP Network events). Then the large project's page
// stays open and scrolls, one step a frame, while SQL writes changes to random jobs of
// that project (and a few inserts) at a fixed rate: the page's long tasks
// (PerformanceObserver 'longtask') and its frames (requestAnimationFrame) are counted.
// This file measures and returns raw samples; services/bench/src/windows.ts prints them.
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import type pg from 'pg';
import { createLogger } from '@realtime/runtime';
import { benchDatabase } from './database';
import { addUser, Session, startStack, type Stack, type User } from '../e2e/stack';

export interface WindowsOptions {
  rounds: number;
  smallJobs: number;
  largeJobs: number;
  /** Changes a second written to the large project while its page scrolls. */
  rate: number;
  /** How long those writes last. */
  seconds: number;
}

export type ProjectSize = 'small' | 'large';

export interface LoadSample {
  project: ProjectSize;
  kind: 'cold' | 'warm';
  round: number;
  /** From the navigation's start to the first job row in the page (the page's own clock). */
  msToFirstRows: number;
  requests: number;
  /** Encoded HTTP bytes of the requests finished by then (a cached asset counts 0). */
  httpBytes: number;
  /** Of which /api. */
  apiBytes: number;
  /** WebSocket payload bytes sent and received by then. */
  wsBytes: number;
}

export interface UnderLoad {
  /** Changes written and the seconds the writing took (its rate may fall short on a busy machine). */
  changes: number;
  writeSeconds: number;
  /** Each long task's duration (ms) while the writes ran. */
  longTasks: number[];
  frames: number;
  scrollMs: number;
  /** The furthest job row the scrolling reached (its place in the list, from 1). */
  rowsLoaded: number;
  /** The heading's count against the database's once the writes stopped, and how long it took to agree (null: never in 30 s). */
  totalShown: number | null;
  totalInDb: number;
  msToAgree: number | null;
}

export interface WindowsRaw {
  jobs: Record<ProjectSize, number>;
  samples: LoadSample[];
  underLoad: UnderLoad;
}

/** A bench failure that is a bug (no rows, no persisted window), not a slow machine. */
export class WindowsBenchFailure extends Error {
  override readonly name = 'WindowsBenchFailure';
}

const log = createLogger('warn', { service: 'bench-windows' });
const FIRST_ROW = '[data-testid=job]';
const TOTAL = 'section:has([data-testid=jobs]) [data-testid=total]';
const TIMEOUT = 60_000;

// In every page of a context, before its own scripts: when the first job row appeared
// (performance.now(), from the navigation's start), and every long task from then on.
// tsx (esbuild's keepNames) wraps the named functions of the callbacks given to
// page.evaluate in __name(), which the page lacks: the probe gives it one.
const PROBE = `(() => {
  globalThis.__name ??= (f) => f;
  const w = window;
  w.__bench = { firstRow: null, longTasks: [] };
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__bench.longTasks.push({ start: e.startTime, duration: e.duration }); }).observe({ type: 'longtask', buffered: true });
  } catch {}
  const seen = () => { if (w.__bench.firstRow === null && document.querySelector('${FIRST_ROW}')) { w.__bench.firstRow = performance.now(); return true; } return false; };
  const watch = () => { if (seen()) return; const mo = new MutationObserver(() => { if (seen()) mo.disconnect(); }); mo.observe(document.documentElement, { childList: true, subtree: true }); };
  if (document.documentElement) watch(); else document.addEventListener('readystatechange', watch, { once: true });
})();`;

interface BenchWindow {
  __bench: { firstRow: number | null; longTasks: { start: number; duration: number }[] };
}

interface Counter {
  cdp: CDPSession;
  reset(): void;
  snapshot(): Omit<LoadSample, 'project' | 'kind' | 'round' | 'msToFirstRows'>;
}

/** Counts a page's network traffic by CDP; reset() starts again from zero. */
async function countTraffic(context: BrowserContext, page: Page): Promise<Counter> {
  const cdp = await context.newCDPSession(page);
  let t = { requests: 0, httpBytes: 0, apiBytes: 0, wsBytes: 0 };
  const api = new Set<string>();
  const seen = new Set<string>();
  cdp.on('Network.requestWillBeSent', (e) => {
    // A redirect reuses the requestId: each hop is a request.
    if (seen.has(e.requestId) && !e.redirectResponse) return;
    seen.add(e.requestId);
    t.requests++;
    if (new URL(e.request.url).pathname.startsWith('/api/')) api.add(e.requestId);
  });
  cdp.on('Network.loadingFinished', (e) => {
    t.httpBytes += e.encodedDataLength;
    if (api.has(e.requestId)) t.apiBytes += e.encodedDataLength;
  });
  const frame = (e: { response: { opcode: number; payloadData: string } }) => {
    // Text frames come as the text, binary ones as base64.
    t.wsBytes += e.response.opcode === 1 ? Buffer.byteLength(e.response.payloadData, 'utf8') : Buffer.from(e.response.payloadData, 'base64').length;
  };
  cdp.on('Network.webSocketFrameReceived', frame);
  cdp.on('Network.webSocketFrameSent', frame);
  await cdp.send('Network.enable');
  return {
    cdp,
    reset: () => {
      t = { requests: 0, httpBytes: 0, apiBytes: 0, wsBytes: 0 };
    },
    snapshot: () => ({ ...t }),
  };
}

/** The page's time to its first job row, once it is there. */
async function firstRows(page: Page, what: string): Promise<number> {
  try {
    await page.waitForFunction(() => (window as unknown as BenchWindow).__bench?.firstRow != null, undefined, { timeout: TIMEOUT, polling: 20 });
  } catch {
    throw new WindowsBenchFailure(`${what}: no job row in ${TIMEOUT / 1000} s (is the jobs table still [data-testid=jobs] with rows [data-testid=job]?)`);
  }
  return page.evaluate(() => (window as unknown as BenchWindow).__bench.firstRow!);
}

/**
 * Where a load's time went, from the page's own timings: the document, each request that
 * ended before the first row (its path, from start to end), the DOMContentLoaded event and
 * the first row, in ms from the navigation's start. Printed beside each sample, so that a
 * slow first row names what it waited on.
 */
async function timeline(page: Page): Promise<string> {
  const t = await page.evaluate(() => {
    const first = (window as unknown as BenchWindow).__bench.firstRow ?? performance.now();
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    const label = (url: string) => {
      const u = new URL(url);
      const p = u.pathname.startsWith('/assets/') ? u.pathname.replace(/-[A-Za-z0-9_-]{8}\./, '.') : u.pathname;
      return u.pathname.startsWith('/api/') ? `${p}${u.search ? '?' : ''}` : p;
    };
    const requests = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((e) => e.startTime < first && !e.name.startsWith('data:'))
      .map((e) => ({ name: label(e.name), start: e.startTime, end: e.responseEnd }));
    return { doc: nav?.responseEnd ?? null, dcl: nav?.domContentLoadedEventEnd ?? null, first, requests };
  });
  const r = (n: number) => Math.round(n);
  const parts = [
    t.doc === null ? null : `document ${r(t.doc)}`,
    ...t.requests.map((q) => `${q.name} ${r(q.start)}-${r(q.end)}`),
    t.dcl === null ? null : `DOMContentLoaded ${r(t.dcl)}`,
    `first row ${r(t.first)}`,
  ];
  return parts.filter((p) => p !== null).join(', ');
}

/** Until idb-keyval's realtime-cache:* entry holds `id` (the window was persisted). */
async function waitPersisted(page: Page, id: string, what: string): Promise<void> {
  const until = Date.now() + TIMEOUT;
  for (;;) {
    const held = await page.evaluate(
      (want) =>
        new Promise<boolean>((resolve, reject) => {
          const req = indexedDB.open('keyval-store');
          req.onupgradeneeded = () => req.result.createObjectStore('keyval');
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            const db = req.result;
            let found = false;
            const cursor = db.transaction('keyval', 'readonly').objectStore('keyval').openCursor();
            cursor.onerror = () => reject(cursor.error);
            cursor.onsuccess = () => {
              const c = cursor.result;
              if (!c) {
                db.close();
                resolve(found);
                return;
              }
              if (typeof c.key === 'string' && c.key.startsWith('realtime-cache:') && String(c.value).includes(want)) found = true;
              c.continue();
            };
          };
        }),
      id,
    );
    if (held) return;
    if (Date.now() > until) throw new WindowsBenchFailure(`${what}: the jobs window was never persisted in IndexedDB (no realtime-cache:* entry holds job ${id})`);
    await page.waitForTimeout(100);
  }
}

/** A fresh browser context (empty IndexedDB and HTTP cache) holding the user's session cookie, with the probe installed. */
async function freshContext(stack: Stack, user: User): Promise<BrowserContext> {
  const res = await fetch(`${stack.base}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }) });
  if (res.status !== 200) throw new Error(`sign-in of ${user.email}: ${res.status} ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1).trim(), url: stack.base };
  });
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies(cookies);
  await context.addInitScript(PROBE);
  return context;
}

/** Cold, then warm: a fresh context opens the project, its window is persisted, the page reloads. */
async function coldAndWarm(stack: Stack, user: User, project: ProjectSize, projectId: string, round: number): Promise<{ samples: LoadSample[]; timelines: { cold: string; warm: string } }> {
  const context = await freshContext(stack, user);
  try {
    const page = await context.newPage();
    const traffic = await countTraffic(context, page);
    await page.goto(`${stack.base}/#/projects/${projectId}`);
    const cold = await firstRows(page, `${project} project, cold`);
    const coldBytes = traffic.snapshot();
    const coldTimes = await timeline(page);
    const firstId = (await page.getAttribute(FIRST_ROW, 'data-id'))!;
    await waitPersisted(page, firstId, `${project} project`);
    await page.waitForTimeout(1500); // a save still throttled lands too
    traffic.reset();
    await page.reload();
    const warm = await firstRows(page, `${project} project, warm`);
    const warmBytes = traffic.snapshot();
    const warmTimes = await timeline(page);
    await traffic.cdp.detach().catch(() => undefined);
    return {
      samples: [
        { project, kind: 'cold', round, msToFirstRows: cold, ...coldBytes },
        { project, kind: 'warm', round, msToFirstRows: warm, ...warmBytes },
      ],
      timelines: { cold: coldTimes, warm: warmTimes },
    };
  } finally {
    await context.close();
  }
}

const STATUSES = ['queued', 'processing', 'completed', 'failed'];

/**
 * `rate` changes a second to the project for `seconds`: each 50 ms, what is owed by then,
 * nine in ten updates of random jobs (status and progress) and one in ten inserts, in one
 * transaction. Returns the changes written and the seconds it took.
 */
async function writeChanges(pool: pg.Pool, projectId: string, ids: string[], rate: number, seconds: number): Promise<{ changes: number; seconds: number }> {
  const client = await pool.connect();
  const start = performance.now();
  let written = 0;
  let tick = 0;
  try {
    while (performance.now() - start < seconds * 1000) {
      const owed = Math.min(Math.round((rate * (performance.now() - start)) / 1000) - written, rate);
      if (owed > 0) {
        const inserts = Math.max(0, Math.round(owed / 10));
        const picked = Array.from({ length: owed - inserts }, () => ids[Math.floor(Math.random() * ids.length)]!);
        await client.query('BEGIN');
        if (picked.length) {
          await client.query(`UPDATE extraction_jobs SET status = $2, progress = (random() * 100)::int WHERE id = ANY($1::uuid[])`, [[...new Set(picked)], STATUSES[tick % STATUSES.length]]);
        }
        if (inserts) {
          const { rows } = await client.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'live-' || $2::int || '-' || g || '.pdf' FROM generate_series(1, $3::int) g RETURNING id`, [projectId, tick, inserts]);
          ids.push(...rows.map((r) => r.id));
        }
        await client.query('COMMIT');
        // Duplicates in a draw are one change, not two.
        written += new Set(picked).size + inserts;
      }
      tick++;
      const next = start + tick * 50;
      if (next > performance.now()) await new Promise((r) => setTimeout(r, next - performance.now()));
    }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { changes: written, seconds: (performance.now() - start) / 1000 };
}

/** The large project's page open and scrolling while the changes arrive. */
async function underLoad(stack: Stack, user: User, projectId: string, o: WindowsOptions): Promise<UnderLoad> {
  const context = await freshContext(stack, user);
  try {
    const page = await context.newPage();
    await page.goto(`${stack.base}/#/projects/${projectId}`);
    await firstRows(page, 'large project, under load');
    await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: TIMEOUT });
    const ids = (await stack.pool.query<{ id: string }>(`SELECT id FROM extraction_jobs WHERE project_id = $1`, [projectId])).rows.map((r) => r.id);
    // The page scrolls its jobs box one step a frame (down, loading pages as it goes;
    // back up for a while every 2 s) and counts frames and long tasks for `ms`.
    const scrolling = page.evaluate((ms) => {
      const w = window as unknown as BenchWindow;
      const box = document.querySelector('[data-testid=jobs]')!.closest('.table-window') as HTMLElement;
      const t0 = performance.now();
      return new Promise<{ frames: number; ms: number; longTasks: number[]; rows: number }>((resolve) => {
        let frames = 0;
        let rows = 0;
        // The furthest row loaded, read now and then (the virtualizer renders only those in view).
        const furthest = () => {
          for (const tr of document.querySelectorAll('[data-testid=jobs] tbody tr[data-id]')) rows = Math.max(rows, Number(tr.getAttribute('aria-rowindex')) - 1);
        };
        const step = (now: number) => {
          frames++;
          if (frames % 10 === 0) furthest();
          const down = Math.floor((now - t0) / 2000) % 3 !== 2;
          box.scrollTop += down ? 40 : -40;
          if (now - t0 < ms) requestAnimationFrame(step);
          else {
            furthest();
            resolve({ frames, ms: now - t0, longTasks: w.__bench.longTasks.filter((t) => t.start >= t0).map((t) => t.duration), rows });
          }
        };
        requestAnimationFrame(step);
      });
    }, o.seconds * 1000);
    const [written, scrolled] = await Promise.all([writeChanges(stack.pool, projectId, ids, o.rate, o.seconds), scrolling]);
    // The count in the heading catches up with the database's once the writes stop.
    const totalInDb = Number((await stack.pool.query<{ n: string }>(`SELECT count(*) AS n FROM extraction_jobs WHERE project_id = $1`, [projectId])).rows[0]!.n);
    const t = performance.now();
    let msToAgree: number | null = null;
    try {
      await page.waitForFunction(({ sel, n }) => document.querySelector(sel)?.getAttribute('data-count') === String(n), { sel: TOTAL, n: totalInDb }, { timeout: 30_000, polling: 50 });
      msToAgree = performance.now() - t;
    } catch {
      // Reported as a figure (never agreed), not thrown: the run's other figures still stand.
    }
    const shown = await page.getAttribute(TOTAL, 'data-count').catch(() => null);
    return {
      changes: written.changes,
      writeSeconds: written.seconds,
      longTasks: scrolled.longTasks,
      frames: scrolled.frames,
      scrollMs: scrolled.ms,
      rowsLoaded: scrolled.rows,
      totalShown: shown === null ? null : Number(shown),
      totalInDb,
      msToAgree,
    };
  } finally {
    await context.close();
  }
}

/** Inserts `count` jobs into a new project in one statement (a second apart, newest first in the app). */
async function projectOf(stack: Stack, api: Session, name: string, count: number): Promise<string> {
  const { id } = await api.post('projects', { name });
  await stack.pool.query(
    `INSERT INTO extraction_jobs (project_id, document_name, status, progress, created_at)
     SELECT $1, 'invoice-' || g || '.pdf', (ARRAY['queued','processing','completed','failed'])[1 + g % 4], g % 101, now() - g * interval '1 second'
       FROM generate_series(1, $2::int) g`,
    [id, count],
  );
  return id;
}

export async function measureWindows(o: WindowsOptions, progress: (line: string) => void): Promise<WindowsRaw> {
  const started = performance.now();
  const at = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const database = await benchDatabase('bench-windows', log);
  let stack: Stack;
  try {
    stack = await startStack({ WRITES_PER_MINUTE: '1000000' }, { database });
  } catch (err) {
    await database.drop();
    throw err;
  }
  try {
    const user = await addUser(stack, 'Bench');
    const api = await Session.signIn(stack.base, user);
    const projects: Record<ProjectSize, string> = {
      small: await projectOf(stack, api, `${o.smallJobs} jobs`, o.smallJobs),
      large: await projectOf(stack, api, `${o.largeJobs} jobs`, o.largeJobs),
    };
    // The inserts reach the outbox, the replicator and the gateway: wait until they have
    // passed, so that the first round does not measure the catch-up.
    await stack.pool.query('ANALYZE extraction_jobs');
    const settle = await freshContext(stack, user);
    try {
      const page = await settle.newPage();
      await page.goto(`${stack.base}/#/projects/${projects.large}`);
      await page.waitForFunction(({ sel, n }) => document.querySelector(sel)?.getAttribute('data-count') === String(n), { sel: TOTAL, n: o.largeJobs }, { timeout: 120_000, polling: 100 });
    } finally {
      await settle.close();
    }
    progress(`  [${at()}] seeded: a project of ${o.smallJobs} jobs and one of ${o.largeJobs} (one INSERT ... generate_series each)`);
    const samples: LoadSample[] = [];
    for (let round = 0; round < o.rounds; round++) {
      // Each round starts with the other project, so neither always has the warmer machine.
      const order: ProjectSize[] = round % 2 === 0 ? ['small', 'large'] : ['large', 'small'];
      for (const size of order) {
        const { samples: [cold, warm], timelines } = await coldAndWarm(stack, user, size, projects[size], round);
        samples.push(cold!, warm!);
        progress(`  [${at()}] round ${round + 1}/${o.rounds}, ${size} project: first rows cold ${cold!.msToFirstRows.toFixed(0)} ms (${(cold!.httpBytes / 1024).toFixed(1)} kB), warm ${warm!.msToFirstRows.toFixed(0)} ms`);
        progress(`      cold: ${timelines.cold}`);
        progress(`      warm: ${timelines.warm}`);
      }
    }
    progress(`  [${at()}] ${o.rate} changes/s to the large project for ${o.seconds} s, its page open and scrolling`);
    const load = await underLoad(stack, user, projects.large, o);
    progress(`  [${at()}] ${load.changes} changes in ${load.writeSeconds.toFixed(1)} s; ${load.longTasks.length} long tasks; ${load.frames} frames in ${(load.scrollMs / 1000).toFixed(1)} s`);
    return { jobs: { small: o.smallJobs, large: o.largeJobs }, samples, underLoad: load };
  } finally {
    await stack.stop();
  }
}
