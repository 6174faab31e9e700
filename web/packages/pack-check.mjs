#!/usr/bin/env node
// The packages as an outside app gets them: @realtime/protocol, @realtime/client and
// @realtime/react packed into tarballs (built JavaScript, declarations, README and LICENSE;
// no sources or tests), installed into a fresh Vite + React + TypeScript app outside the
// repo together with the versions of react, TanStack Query, TypeScript and Vite the repo's
// lock file holds. Every TypeScript example of the three READMEs becomes a module of that
// app and is type-checked there (`tsc --noEmit`); the React README's quick start (the block
// that begins `// main.tsx`) is the app itself: built (`vite build`), served by `vite
// preview` in front of the whole server (SERVER_MAIN, on an embedded Postgres in a
// throwaway folder, DEMO=1), opened in Debian's chromium signed in as a demo user, and
// must show a project inserted after the page is live. Run by CI after `npm test`
// (`npm run pack-check`); KEEP=1 leaves the app's folder for a look.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

/** The all-in-one server `npm start` runs, relative to the repo. */
const SERVER_MAIN = 'services/server/src/main.ts';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** How long the page may take to show what the server holds: a bound for a stuck run, not a timing under test. */
const PAGE_WAIT_MS = 60_000;
/** The same for the server and the preview to say they listen. */
const START_WAIT_MS = 180_000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = [
  { name: '@realtime/protocol', dir: 'services/protocol' },
  { name: '@realtime/client', dir: 'web/packages/client' },
  { name: '@realtime/react', dir: 'web/packages/react' },
];

/** Thrown to end the check: the processes it started are stopped before it exits 1. */
class CheckFailed extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail;
  }
}

function fail(message, detail = '') {
  throw new CheckFailed(message, detail);
}

function run(cmd, args, cwd, what) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  } catch (err) {
    fail(what, `${err.stdout ?? ''}${err.stderr ?? ''}`.trim());
  }
}

// The lock file's versions, so that the app is built with what the repo tests with.
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const locked = (name) => {
  const hit = Object.entries(lock.packages).find(([k]) => k === `node_modules/${name}` || k.endsWith(`/node_modules/${name}`));
  if (!hit) fail(`${name} is not in package-lock.json`);
  return hit[1].version;
};

/**
 * The TypeScript blocks of a README (```ts and ```tsx, also indented in a list), each a
 * complete module as a reader would paste it.
 */
function readmeBlocks(markdown) {
  const blocks = [];
  const fence = /^( *)```(tsx?)\n([\s\S]*?)^\1```/gm;
  for (const m of markdown.matchAll(fence)) {
    const indent = m[1].length;
    const code = m[3]
      .split('\n')
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n');
    blocks.push({ lang: m[2], code });
  }
  return blocks;
}

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A child process whose output is kept, and a way to wait for a line of it. */
function start(cmd, args, opts) {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { child, out: '' };
  const waiters = new Set();
  const feed = (d) => {
    proc.out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout.on('data', feed);
  child.stderr.on('data', feed);
  child.on('exit', () => {
    for (const w of waiters) w();
  });
  proc.waitFor = (pattern, what) =>
    new Promise((resolve, reject) => {
      // A bound for a stuck run only: readiness is the line itself.
      const timer = setTimeout(() => settle(() => reject(new CheckFailed(`${what} was not ready after ${START_WAIT_MS / 1000} s`, proc.out.slice(-4000)))), START_WAIT_MS);
      const settle = (fn) => {
        clearTimeout(timer);
        waiters.delete(check);
        fn();
      };
      const check = () => {
        // Tools colour their output when CI is set (picocolors does), and a colour code can
        // split the very line waited for: "127.0.0.1:\x1b[1m33921".
        const m = pattern.exec(stripVTControlCharacters(proc.out));
        if (m) settle(() => resolve(m));
        else if (child.exitCode !== null || child.signalCode !== null) settle(() => reject(new CheckFailed(`${what} exited before it was ready`, proc.out.slice(-4000))));
      };
      waiters.add(check);
      check();
    });
  proc.stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return proc;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'realtime-pack-check-'));
const procs = [];
let browser = null;
try {
  // The tarballs hold dist only: it must be there (npm install's prepare builds it).
  run('npx', ['turbo', 'run', 'build', '--filter=@realtime/react...', '--output-logs=errors-only'], root, 'building the packages');
  const tarballs = {};
  for (const p of packages) {
    const out = run('npm', ['pack', '--json', '--pack-destination', tmp], path.join(root, p.dir), `npm pack of ${p.name}`);
    const [info] = JSON.parse(out.slice(out.indexOf('[')));
    const files = info.files.map((f) => f.path);
    const js = files.filter((f) => /^dist\/.*\.js$/.test(f));
    const dts = files.filter((f) => /^dist\/.*\.d\.ts$/.test(f));
    const bad = files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || /\.test\.[jt]sx?$|\.test\.d\.ts$|\.pg\.test/.test(f));
    if (!files.includes('dist/index.js') || !files.includes('dist/index.d.ts')) fail(`${p.name}'s tarball has no dist/index.js and dist/index.d.ts`, files.join('\n'));
    if (js.length === 0 || dts.length === 0) fail(`${p.name}'s tarball has no built JavaScript or no declarations`, files.join('\n'));
    if (bad.length) fail(`${p.name}'s tarball carries sources or tests`, bad.join('\n'));
    for (const needed of ['README.md', 'LICENSE', 'package.json']) if (!files.includes(needed)) fail(`${p.name}'s tarball has no ${needed}`, files.join('\n'));
    tarballs[p.name] = path.join(tmp, info.filename);
    process.stdout.write(`pack-check: ${p.name}: ${info.filename}, ${files.length} files (${js.length} .js, ${dts.length} .d.ts), ${info.size} bytes packed, ${info.unpackedSize} unpacked\n`);
  }

  const app = path.join(tmp, 'app');
  mkdirSync(path.join(app, 'src', 'readme'), { recursive: true });
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'realtime-pack-check-app',
        private: true,
        type: 'module',
        dependencies: {
          ...Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`])),
          // What the README examples use beside the packages.
          ...Object.fromEntries(
            ['@tanstack/react-query', '@tanstack/react-query-persist-client', '@tanstack/query-async-storage-persister', 'idb-keyval', 'react', 'react-dom', 'socket.io-client'].map((n) => [n, locked(n)]),
          ),
        },
        devDependencies: Object.fromEntries(['@types/react', '@types/react-dom', 'typescript', 'vite'].map((n) => [n, locked(n)])),
        // One query-core for react-query and the persister, as the repo pins it.
        overrides: JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).overrides,
      },
      null,
      2,
    ),
  );
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          jsx: 'react-jsx',
          strict: true,
          noEmit: true,
          isolatedModules: true,
          verbatimModuleSyntax: true,
          skipLibCheck: false,
          types: [],
        },
        include: ['src'],
      },
      null,
      2,
    ),
  );
  writeFileSync(path.join(app, 'index.html'), '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n');
  // The preview stands in front of the server as an app's own dev proxy would: the Host it
  // was asked for goes on unchanged (no changeOrigin), so the gateway sees the page's own origin.
  writeFileSync(
    path.join(app, 'vite.config.js'),
    `const target = process.env.PACK_CHECK_SERVER;
export default {
  oxc: { jsx: { runtime: 'automatic' } },
  logLevel: 'warn',
  preview: target ? { proxy: { '/api': { target }, '/ws': { target, ws: true } } } : {},
};
`,
  );

  // The README examples, each a module of the app; the quick start is its entry.
  let main = null;
  let examples = 0;
  for (const p of packages) {
    const readme = path.join(root, p.dir, 'README.md');
    if (!existsSync(readme)) fail(`${p.name} has no README.md`);
    readmeBlocks(readFileSync(readme, 'utf8')).forEach((block, i) => {
      if (block.code.startsWith('// main.tsx\n')) {
        if (main) fail(`two README blocks begin with // main.tsx (${main.from} and ${p.name})`);
        main = { from: p.name, code: block.code };
        writeFileSync(path.join(app, 'src', 'main.tsx'), block.code);
      } else {
        const file = `${p.name.split('/')[1]}-${i + 1}.${block.lang}`;
        // `export {}`: a module of its own, as pasted into a file, whatever it declares.
        writeFileSync(path.join(app, 'src', 'readme', file), `${block.code}\nexport {};\n`);
      }
      examples++;
    });
  }
  if (!main) fail("no README block begins with // main.tsx (the React README's quick start is the app pack-check runs)");
  process.stdout.write(`pack-check: ${examples} README examples (the quick start from ${main.from}'s)\n`);

  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app, 'npm install of the tarballs in a fresh app');
  run('npx', ['tsc', '--noEmit', '-p', '.'], app, "tsc --noEmit in the fresh app (a README example, or the packages' declarations as an outside app uses them, do not type-check)");
  run('npx', ['vite', 'build'], app, 'vite build of the fresh app');

  // The quick start against the whole server: a throwaway embedded Postgres (its folder
  // must be enterable by the postgres user when this runs as root), the demo users.
  if (!existsSync(CHROMIUM)) fail(`no chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`);
  chmodSync(tmp, 0o755);
  const serverEnv = { ...process.env, LOG_LEVEL: 'warn', PORT: '0', DEMO: '1', EMBEDDED_PG_DIR: path.join(tmp, 'pg'), EMBEDDED_PG_PORT: String(await freePort()), DEMO_USERS_FILE: path.join(tmp, 'demo-users.txt') };
  for (const k of ['DATABASE_URL', 'DATABASE_URL_DIRECT', 'DATABASE_URL_API', 'DATABASE_URL_GATEWAY', 'DATABASE_URL_REPLICATOR', 'FRONTEND_URL']) delete serverEnv[k];
  const server = start(process.execPath, ['--import', 'tsx', path.join(root, SERVER_MAIN)], { cwd: root, env: serverEnv });
  procs.push(server);
  const [, serverPort] = await server.waitFor(/Open http:\/\/localhost:(\d+)/, `the server (${SERVER_MAIN})`);
  const users = readFileSync(serverEnv.DEMO_USERS_FILE, 'utf8');
  const owner = /^(owner@\S+)\s+(\S+)/m.exec(users);
  if (!owner) fail(`no owner in the demo users file ${serverEnv.DEMO_USERS_FILE}`, users);

  const previewPort = await freePort();
  const preview = start(path.join(app, 'node_modules', '.bin', 'vite'), ['preview', '--logLevel', 'info', '--host', '127.0.0.1', '--port', String(previewPort), '--strictPort'], {
    cwd: app,
    env: { ...process.env, PACK_CHECK_SERVER: `http://127.0.0.1:${serverPort}` },
  });
  procs.push(preview);
  await preview.waitFor(new RegExp(`127\\.0\\.0\\.1:${previewPort}`), 'vite preview');
  const base = `http://127.0.0.1:${previewPort}`;

  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ baseURL: base });
  const signIn = await context.request.post('/api/auth/sign-in', { data: { email: owner[1], password: owner[2] } });
  if (!signIn.ok()) fail(`signing in as ${owner[1]} through the preview answered ${signIn.status()}`, await signIn.text());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto('/');
  const live = page.locator('ul[data-status="live"]');
  try {
    await live.locator('li').first().waitFor({ timeout: PAGE_WAIT_MS });
  } catch {
    fail("the React README's quick start did not show the demo owner's projects with the connection live", `${errors.join('\n')}\n${(await page.content()).slice(0, 2000)}\n${server.out.slice(-3000)}`);
  }
  // A row written after the page is live must appear there, brought by the stream.
  const name = `pack-check ${randomUUID()}`;
  const created = await context.request.post('/api/projects', { data: { name }, headers: { 'Idempotency-Key': randomUUID() } });
  if (!created.ok()) fail(`creating a project answered ${created.status()}`, await created.text());
  try {
    await live.locator('li', { hasText: name }).waitFor({ timeout: PAGE_WAIT_MS });
  } catch {
    fail("a project inserted after the page was live did not appear in the React README's quick start", `${errors.join('\n')}\n${server.out.slice(-3000)}`);
  }
  if (errors.length) fail('the page reported errors', errors.join('\n'));
  process.stdout.write(
    `pack-check: passed (a fresh Vite + React + TypeScript app installed the tarballs, type-checked ${examples} README examples and built; the React quick start showed a live row from ${SERVER_MAIN} in chromium)${process.env.KEEP ? `; kept in ${app}` : ''}\n`,
  );
} catch (err) {
  process.exitCode = 1;
  if (err instanceof CheckFailed) process.stderr.write(`pack-check: FAILED: ${err.message}\n${err.detail ? `${err.detail}\n` : ''}`);
  else process.stderr.write(`pack-check: FAILED: ${err?.stack ?? err}\n`);
} finally {
  await browser?.close().catch(() => undefined);
  for (const p of procs.reverse()) await p.stop();
  if (!process.env.KEEP) rmSync(tmp, { recursive: true, force: true });
}
