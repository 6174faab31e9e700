// Benchmark (not a test): what "resume after a reload" saves against a cold load, in
// chromium. A user with a realistic amount of data (100 projects, 3 of them with 200 jobs,
// results, layers and matches each) opens the projects page and a project page, waits for
// Live and closes the page, keeping the browser context (so IndexedDB keeps the persisted
// lists); while away (--away-seconds, 60 by default) 100 changes are written to that
// project's jobs (50 new, 50 finished); then the same page is opened again and measured,
// by CDP, until the header says Live and all 100 changes are shown (warm reload). A fresh
// context (empty IndexedDB, empty HTTP cache) signed in as the same user opens the same
// page and is measured until Live (cold load). "Live" here: the header says Live with
// nothing left to catch up and every list of the page shows all its rows (a cold load's
// socket may be live before its lists have answered). Counted from the navigation: HTTP
// requests (all, and /api) with their encoded bytes (Network.loadingFinished; an asset
// from the HTTP cache is a request of 0 bytes), WebSocket frame payload bytes (sent and
// received), and the time to Live; what was asked before the end is counted whole.
//
//   npm run bench:reload [-- --rounds N] [--away-seconds S] [--quick] [--verbose]
//
// --quick: 5 s away (and 1 round unless --rounds is given). No figure is asserted; the
// script exits non-zero only if a page never becomes Live or the changes are not shown.
import os from 'node:os';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { createLogger } from '@realtime/runtime';
import { benchDatabase } from './database';
import { addUser, Session, signedInPage, startStack, type Stack, type User } from '../e2e/stack';
import { rowsOf } from '../e2e/window';

interface Options {
  rounds: number;
  awaySeconds: number;
  verbose: boolean;
}

function parseArgs(argv: string[]): Options {
  let rounds: number | undefined;
  let awaySeconds: number | undefined;
  let quick = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${a}: a number is expected, got ${v}`);
      return n;
    };
    if (a === '--quick') quick = true;
    else if (a === '--verbose') verbose = true;
    else if (a.startsWith('--rounds')) rounds = Math.max(1, Math.round(value()));
    else if (a.startsWith('--away-seconds')) awaySeconds = value();
    else if (a === '--help' || a === '-h') {
      console.log('npm run bench:reload [-- --rounds N (3)] [--away-seconds S (60)] [--quick (5 s away, 1 round)] [--verbose (each request of the last round)]');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (--rounds N, --away-seconds S, --quick, --verbose)`);
  }
  return { rounds: rounds ?? (quick ? 1 : 3), awaySeconds: awaySeconds ?? (quick ? 5 : 60), verbose };
}

/** A bench failure that is a bug (never Live, changes not shown), not a slow machine. */
class BenchFailure extends Error {}

const log = createLogger('warn', { service: 'bench-reload' });
const PROJECTS = 100;
const FULL_PROJECTS = 3;
const PER_PROJECT = { jobs: 60, results: 60, layers: 40, matches: 40 }; // 200 rows each
const NEW_JOBS = 50;
const FINISHED_JOBS = 50; // NEW_JOBS + FINISHED_JOBS = the 100 changes missed
const LIVE = '[data-testid=connection][data-status=live]';
const LIVE_TIMEOUT = 30_000;

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
const FIELDS = ['invoice_number', 'supplier', 'total_amount', 'currency', 'issue_date', 'due_date', 'vat_number', 'iban'];
const SUPPLIERS = ['Acme Industrial Supply', 'Northwind Traders', 'Globex Components', 'Initech Logistics', 'Umbrella Materials', 'Stark Fabrication'];
const KINDS = ['vector', 'raster', 'table', 'document'] as const;

interface Seeded {
  projectIds: string[];
  /** The measured projects (one a round, in turn) and their seeded jobs. */
  full: { projectId: string; jobIds: string[] }[];
}

/** 100 projects; the first 3 with 60 jobs, 60 results, 40 layers and 40 matches each. */
async function seed(api: Session): Promise<Seeded> {
  const projectIds = (
    await pool(Array.from({ length: PROJECTS }, (_, i) => i), 8, (i) =>
      api.post('projects', { name: `Site survey ${String(i + 1).padStart(3, '0')}`, description: `Extraction of the supplier invoices and site documents of survey ${i + 1}, region ${pick(['north', 'south', 'east', 'west'], i)}` }),
    )
  ).map((p) => p.id);
  const jobsOf: string[][] = [];
  for (let p = 0; p < FULL_PROJECTS; p++) {
    const projectId = projectIds[p]!;
    const jobs = (await pool(Array.from({ length: PER_PROJECT.jobs }, (_, i) => i), 8, (i) => api.post('extraction-jobs', { projectId, documentName: `invoice-${p + 1}-${String(i + 1).padStart(4, '0')}.pdf` }))).map((j) => j.id);
    jobsOf.push(jobs);
    const results = (
      await pool(Array.from({ length: PER_PROJECT.results }, (_, i) => i), 8, (i) =>
        api.post('extraction-results', { projectId, jobId: pick(jobs, i), fieldName: pick(FIELDS, i), value: `${pick(FIELDS, i)} value ${i + 1} of job ${(i % jobs.length) + 1}`, confidence: 0.5 + ((i * 37) % 50) / 100, page: 1 + (i % 4) }),
      )
    ).map((r) => r.id);
    await pool(Array.from({ length: PER_PROJECT.layers }, (_, i) => i), 8, (i) =>
      api.post('data-layers', { projectId, name: `Layer ${i + 1}: ${pick(['parcels', 'roads', 'orthophoto', 'drainage', 'utilities'], i)}`, kind: pick(KINDS, i), source: `s3://surveys/project-${p + 1}/layer-${i + 1}`, metadata: { crs: 'EPSG:3857', features: 100 + i * 13 } }),
    );
    await pool(Array.from({ length: PER_PROJECT.matches }, (_, i) => i), 8, (i) =>
      api.post('supplier-matches', { projectId, resultId: pick(results, i), supplierName: `${pick(SUPPLIERS, i)} #${i + 1}`, score: ((i * 17) % 100) / 100 }),
    );
  }
  return { projectIds, full: jobsOf.map((jobIds, p) => ({ projectId: projectIds[p]!, jobIds })) };
}

interface Traffic {
  requests: number;
  apiRequests: number;
  httpBytes: number;
  apiBytes: number;
  wsBytes: number;
  wsFrames: number;
  /** Each HTTP request: method, path and encoded bytes (for --verbose). */
  log: string[];
}

/** Counts a page's network traffic by CDP from now on; snapshot() reads the counters. */
async function countTraffic(context: BrowserContext, page: Page): Promise<{ cdp: CDPSession; settle(): Promise<void>; snapshot(): Traffic }> {
  const cdp = await context.newCDPSession(page);
  const t: Traffic = { requests: 0, apiRequests: 0, httpBytes: 0, apiBytes: 0, wsBytes: 0, wsFrames: 0, log: [] };
  const names = new Map<string, string>();
  const pending = new Set<string>();
  let lastActivity = performance.now();
  const api = new Set<string>();
  const seen = new Set<string>();
  const isApi = (url: string) => new URL(url).pathname.startsWith('/api/');
  cdp.on('Network.requestWillBeSent', (e) => {
    // A redirect reuses the requestId: each hop is a request.
    if (seen.has(e.requestId) && !e.redirectResponse) return;
    seen.add(e.requestId);
    pending.add(e.requestId);
    lastActivity = performance.now();
    t.requests++;
    const u = new URL(e.request.url);
    names.set(e.requestId, `${e.request.method} ${u.pathname}${u.search.length > 40 ? `${u.search.slice(0, 40)}…` : u.search}`);
    if (isApi(e.request.url)) {
      api.add(e.requestId);
      t.apiRequests++;
    }
  });
  cdp.on('Network.loadingFinished', (e) => {
    pending.delete(e.requestId);
    lastActivity = performance.now();
    t.httpBytes += e.encodedDataLength;
    t.log.push(`${names.get(e.requestId) ?? e.requestId}: ${e.encodedDataLength} B`);
    if (api.has(e.requestId)) t.apiBytes += e.encodedDataLength;
  });
  cdp.on('Network.loadingFailed', (e) => {
    pending.delete(e.requestId);
    lastActivity = performance.now();
  });
  const frame = (e: { response: { opcode: number; payloadData: string } }) => {
    lastActivity = performance.now();
    t.wsFrames++;
    // Text frames come as the text, binary ones as base64.
    t.wsBytes += e.response.opcode === 1 ? Buffer.byteLength(e.response.payloadData, 'utf8') : Buffer.from(e.response.payloadData, 'base64').length;
  };
  cdp.on('Network.webSocketFrameReceived', frame);
  cdp.on('Network.webSocketFrameSent', frame);
  await cdp.send('Network.enable');
  // What the page asked for before the end is counted whole: its requests finish, and the
  // frames that answer them arrive (no request pending, no frame for 300 ms; at most 5 s).
  const settle = async () => {
    const until = performance.now() + 5000;
    while (performance.now() < until && (pending.size > 0 || performance.now() - lastActivity < 300)) await new Promise((r) => setTimeout(r, 50));
  };
  return { cdp, settle, snapshot: () => ({ ...t, log: [...t.log] }) };
}

interface Measure extends Traffic {
  msToLive: number;
  /** Warm only: until all the changes missed are on screen. */
  msToChanges?: number;
}

/** What idb-keyval holds under realtime-cache:*, as one string (to wait for a save). */
const persistedText = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const req = indexedDB.open('keyval-store');
        req.onupgradeneeded = () => req.result.createObjectStore('keyval');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          let out = '';
          const cursor = db.transaction('keyval', 'readonly').objectStore('keyval').openCursor();
          cursor.onerror = () => reject(cursor.error);
          cursor.onsuccess = () => {
            const c = cursor.result;
            if (!c) {
              db.close();
              resolve(out);
              return;
            }
            if (typeof c.key === 'string' && c.key.startsWith('realtime-cache:')) out += String(c.value);
            c.continue();
          };
        };
      }),
  );

async function waitLive(page: Page, what: string): Promise<void> {
  try {
    await page.waitForSelector(LIVE, { timeout: LIVE_TIMEOUT });
  } catch {
    const status = await page.getAttribute('[data-testid=connection]', 'data-status').catch(() => null);
    throw new BenchFailure(`${what}: the page never became Live in ${LIVE_TIMEOUT / 1000} s (connection status: ${status ?? 'no header'})`);
  }
}

/** The project page's list counts (its panels' headings, `data-count`: the text is formatted, "5,008"), e.g. { 'Extraction jobs': 110 }. */
type Counts = Record<string, number>;

const expectedCounts = (jobs: number): Counts => ({ 'Extraction jobs': jobs, Results: PER_PROJECT.results, 'Data layers': PER_PROJECT.layers, 'Supplier matches': PER_PROJECT.matches });

/** Until the header says Live (nothing left to catch up) and every list shows its rows. */
async function waitLiveWithLists(page: Page, what: string, expected: Counts): Promise<void> {
  await waitLive(page, what);
  const counts = () =>
    page.$$eval('.panel h2', (hs) => Object.fromEntries(hs.map((h) => [h.firstChild?.textContent?.trim() ?? '', Number(h.querySelector('.count')?.getAttribute('data-count') ?? NaN)])));
  try {
    await page.waitForFunction(
      (want) => {
        const live = document.querySelector('[data-testid=connection][data-status=live]');
        if (!live || Number(live.getAttribute('data-behind') ?? 0) > 0) return false;
        const have = Object.fromEntries([...document.querySelectorAll('.panel h2')].map((h) => [h.firstChild?.textContent?.trim() ?? '', Number(h.querySelector('.count')?.getAttribute('data-count') ?? NaN)]));
        return Object.entries(want).every(([k, v]) => have[k] === v);
      },
      expected,
      { timeout: LIVE_TIMEOUT, polling: 20 },
    );
  } catch {
    throw new BenchFailure(`${what}: Live, but the lists did not all show their rows in ${LIVE_TIMEOUT / 1000} s (expected ${JSON.stringify(expected)}, shown ${JSON.stringify(await counts().catch(() => ({})))})`);
  }
}

/** Jobs added by a round, by project. */
const added = new Map<string, string[]>();

/** Warm reload: visit, close the page (the context stays), 100 changes while away, open again and measure. */
async function warmReload(stack: Stack, user: User, api: Session, data: Seeded, opts: Options, round: number): Promise<Measure> {
  const { projectId, jobIds } = data.full[round % data.full.length]!;
  // The jobs a previous round added to this project go first (the list stays one page).
  for (const id of added.get(projectId) ?? []) await api.request('DELETE', `extraction-jobs/${id}`);
  added.delete(projectId);
  const first = await signedInPage(stack, user);
  const context = first.context();
  try {
    await waitLive(first, 'warm, first visit (projects page)');
    await first.waitForFunction((n) => document.querySelectorAll('[data-testid=project]').length >= n, data.projectIds.length, { timeout: LIVE_TIMEOUT });
    await first.goto(`${stack.base}/#/projects/${projectId}`);
    await waitLive(first, 'warm, first visit (project page)');
    // Only the rows in view are in the page: the heading's count says all are there.
    await first.waitForFunction(
      (n) => document.querySelector('section:has([data-testid=jobs]) [data-testid=total]')?.getAttribute('data-count') === String(n),
      jobIds.length,
      { timeout: LIVE_TIMEOUT },
    );
    // The persisted lists hold the project's jobs and the projects list before the page closes.
    const lastJob = jobIds.at(-1)!;
    const lastProject = data.projectIds.at(-1)!;
    for (let i = 0; ; i++) {
      const text = await persistedText(first);
      if (text.includes(lastJob) && text.includes(lastProject)) break;
      if (i > 100) throw new BenchFailure('the live lists were never persisted in IndexedDB');
      await first.waitForTimeout(100);
    }
    await first.waitForTimeout(1500); // a save still throttled lands too
    await first.close();

    // Away: 100 changes spread over the time away (50 new jobs, 50 jobs finished).
    const awayMs = opts.awaySeconds * 1000;
    const start = Date.now();
    const finished = jobIds.slice(0, FINISHED_JOBS);
    const tag = `r${round}-${Date.now().toString(36)}`;
    const newIds: string[] = [];
    added.set(projectId, newIds);
    for (let i = 0; i < NEW_JOBS + FINISHED_JOBS; i++) {
      const due = start + (awayMs * 0.9 * i) / (NEW_JOBS + FINISHED_JOBS);
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (i % 2 === 0) newIds.push((await api.post('extraction-jobs', { projectId: projectId, documentName: `late-${tag}-${i}.pdf` })).id);
      else await api.request('PATCH', `extraction-jobs/${finished[(i - 1) / 2]}`, { status: round % 2 === 0 ? 'completed' : 'failed', progress: 100, finishedAt: new Date().toISOString() });
    }
    const left = start + awayMs - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    const finalStatus = round % 2 === 0 ? 'completed' : 'failed';

    const page = await context.newPage();
    const traffic = await countTraffic(context, page);
    const t0 = performance.now();
    await page.goto(`${stack.base}/#/projects/${projectId}`);
    await waitLiveWithLists(page, 'warm reload', expectedCounts(jobIds.length + NEW_JOBS));
    const msToLive = performance.now() - t0;
    // The jobs table renders only the rows in view: the changes are looked for in the
    // rows it has loaded, read by scrolling through it (a few frames, counted in the time).
    // tsx (esbuild's keepNames) wraps the named functions of rowsOf's page callback in
    // __name(), which the page lacks.
    await page.evaluate('globalThis.__name ??= (f) => f');
    const until = performance.now() + LIVE_TIMEOUT;
    for (;;) {
      const ids = new Map((await rowsOf(page, 'jobs')).map((r) => [r.id, r.status] as const));
      const missingNew = newIds.filter((id) => !ids.has(id)).length;
      const notFinished = finished.filter((id) => ids.get(id) !== finalStatus).length;
      if (missingNew === 0 && notFinished === 0) break;
      if (performance.now() > until) {
        throw new BenchFailure(`warm reload: the ${NEW_JOBS + FINISHED_JOBS} changes made while away were not all shown in ${LIVE_TIMEOUT / 1000} s (${missingNew} new jobs missing, ${notFinished} jobs not ${finalStatus})`);
      }
      await page.waitForTimeout(50);
    }
    const msToChanges = performance.now() - t0;
    await traffic.settle();
    const counted = traffic.snapshot();
    await traffic.cdp.detach().catch(() => undefined);
    return { ...counted, msToLive, msToChanges };
  } finally {
    await context.close();
  }
}

/** Cold load: a fresh context (empty IndexedDB and HTTP cache) with the user's session cookie, the same page, until Live. */
async function coldLoad(stack: Stack, user: User, data: Seeded, round: number): Promise<Measure> {
  const { projectId, jobIds } = data.full[round % data.full.length]!;
  const res = await fetch(`${stack.base}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }) });
  if (res.status !== 200) throw new Error(`sign-in of ${user.email}: ${res.status} ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1).trim(), url: stack.base };
  });
  const context = await stack.browser.newContext();
  try {
    await context.addCookies(cookies);
    const page = await context.newPage();
    const traffic = await countTraffic(context, page);
    const t0 = performance.now();
    await page.goto(`${stack.base}/#/projects/${projectId}`);
    // What a warm reload shows: the seeded rows and the jobs that round added.
    await waitLiveWithLists(page, 'cold load', expectedCounts(jobIds.length + NEW_JOBS));
    const msToLive = performance.now() - t0;
    await traffic.settle();
    const counted = traffic.snapshot();
    await traffic.cdp.detach().catch(() => undefined);
    return { ...counted, msToLive };
  } finally {
    await context.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;

function medians(ms: Measure[]): Measure {
  const keys = ['requests', 'apiRequests', 'httpBytes', 'apiBytes', 'wsBytes', 'wsFrames', 'msToLive'] as const;
  const out = { ...(Object.fromEntries(keys.map((k) => [k, median(ms.map((m) => m[k]))])) as Omit<Measure, 'log'>), log: [] } as Measure;
  const changes = ms.map((m) => m.msToChanges).filter((x): x is number => x !== undefined);
  if (changes.length) out.msToChanges = median(changes);
  return out;
}

function table(rows: [string, Measure][]): string {
  const head = ['', 'requests', '/api requests', 'HTTP bytes', '/api bytes', 'WebSocket bytes', 'total bytes', 'ms to Live', 'ms to changes shown'];
  const body = rows.map(([name, m]) => [
    name,
    String(m.requests),
    String(m.apiRequests),
    kb(m.httpBytes),
    kb(m.apiBytes),
    `${kb(m.wsBytes)} (${m.wsFrames} frames)`,
    kb(m.httpBytes + m.wsBytes),
    m.msToLive.toFixed(0),
    m.msToChanges === undefined ? '—' : m.msToChanges.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

const ratio = (a: number, b: number) => (b === 0 ? '—' : `${(a / b).toFixed(2)}x`);

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const t = Date.now();
  console.log(`bench:reload: ${opts.rounds} round(s), ${opts.awaySeconds} s away, ${NEW_JOBS + FINISHED_JOBS} changes missed; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  const database = await benchDatabase('bench-reload', log);
  let stack: Stack;
  try {
    // Seeding writes some 700 rows at once: past the default 600 writes a minute per user.
    stack = await startStack({ WRITES_PER_MINUTE: '1000000' }, { database });
  } catch (err) {
    await database.drop();
    throw err;
  }
  try {
    const user = await addUser(stack, 'Bench');
    const api = await Session.signIn(stack.base, user);
    const data = await seed(api);
    console.log(`seeded: ${PROJECTS} projects, ${FULL_PROJECTS} of them with ${Object.values(PER_PROJECT).reduce((a, b) => a + b)} rows each (${Object.entries(PER_PROJECT).map(([k, v]) => `${v} ${k}`).join(', ')}), in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const warm: Measure[] = [];
    const cold: Measure[] = [];
    for (let round = 0; round < opts.rounds; round++) {
      const w = await warmReload(stack, user, api, data, opts, round);
      const c = await coldLoad(stack, user, data, round);
      warm.push(w);
      cold.push(c);
      console.log(`round ${round + 1}/${opts.rounds}: warm ${w.requests} req, ${kb(w.httpBytes + w.wsBytes)}, Live in ${w.msToLive.toFixed(0)} ms | cold ${c.requests} req, ${kb(c.httpBytes + c.wsBytes)}, Live in ${c.msToLive.toFixed(0)} ms`);
    }
    if (opts.verbose) {
      console.log(`\nthe last round's HTTP requests (finished ones, encoded bytes):\n  warm reload:\n    ${warm.at(-1)!.log.join('\n    ')}\n  cold load:\n    ${cold.at(-1)!.log.join('\n    ')}`);
    }
    const w = medians(warm);
    const c = medians(cold);
    console.log(`\nmedians of ${opts.rounds} round(s), from the navigation (page load) to Live:\n`);
    console.log(table([
      [`warm reload (${opts.awaySeconds} s away, ${NEW_JOBS + FINISHED_JOBS} changes missed)`, w],
      ['cold load (empty IndexedDB and HTTP cache)', c],
    ]));
    console.log(
      `\nreload after ${opts.awaySeconds} s away, ${NEW_JOBS + FINISHED_JOBS} changes missed: ${ratio(w.httpBytes + w.wsBytes, c.httpBytes + c.wsBytes)} the bytes and ${ratio(w.requests, c.requests)} the requests of a cold load` +
        ` (/api and WebSocket only: ${ratio(w.apiBytes + w.wsBytes, c.apiBytes + c.wsBytes)} the bytes, ${ratio(w.apiRequests, c.apiRequests)} the /api requests)`,
    );
    console.log(`(${((Date.now() - t) / 1000).toFixed(0)} s in all; load now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchFailure ? `bench:reload FAILED (a bug, not a slow machine): ${err.message}` : err);
  process.exit(1);
});
