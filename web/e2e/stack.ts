// What the browser tests stand on: the real `npm start` process on a throwaway database,
// Debian's chromium, users made with the operator CLI, and signed-in sessions (a cookie
// for HTTP writes, the sign-in page for browser contexts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import type { Invitation, Member, MemberRole, MyInvitation } from '@realtime/api/types';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { repoRoot, spawnMain } from '@realtime/testkit';

export { repoRoot };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Stack {
  base: string;
  db: TestDatabase;
  pool: pg.Pool;
  browser: Browser;
  /** The server down (SIGTERM), as an outage the browser cannot tell from a lost network. */
  stopServer(): Promise<void>;
  /** The server up again on the same port. */
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `env` is added to the server's environment (REALTIME_TOKEN_TTL_SECONDS, say). `database`:
 * one the caller made (outside vitest, where the test database's template is not provided);
 * stop() drops it with its own drop().
 */
export async function startStack(env: Record<string, string> = {}, opts: { database?: TestDatabase } = {}): Promise<Stack> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`);
  if (!existsSync(path.join(repoRoot, 'web', 'dist', 'index.html'))) throw new Error('the web app is not built: npm run test:e2e builds it first');
  const db = opts.database ?? (await createTestDatabase());
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  // An idle connection ended by the server (a database stopped or restarted under a test,
  // or dropped at the end) is the pool's to replace, not a crash of the test process.
  pool.on('error', () => undefined);
  let server: ChildProcess;
  let output = () => '';
  const launch = (port: string) => {
    const child = spawnMain('server', { env: { DATABASE_URL: db.url, PORT: port, DEMO: '0', LOG_LEVEL: 'warn', ...env } });
    server = child.proc;
    output = child.output;
  };
  const stopServer = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  };
  const started = async () => {
    for (let i = 0; !/Open (http:\/\/localhost:\d+)/.test(output()); i++) {
      if (i > 300 || server.exitCode !== null) throw new Error(`the server did not start:\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return /Open (http:\/\/localhost:(\d+))/.exec(output())!;
  };
  launch('0');
  let opened: RegExpExecArray;
  try {
    opened = await started();
  } catch (err) {
    await stopServer();
    await pool.end();
    await db.drop();
    throw err;
  }
  const base = opened[1]!.replace('localhost', '127.0.0.1');
  const port = opened[2]!;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    base,
    db,
    pool,
    browser,
    stopServer,
    async startServer() {
      await stopServer();
      launch(port);
      await started();
    },
    async stop() {
      await browser.close();
      await stopServer();
      await pool.end();
      await db.drop();
    },
  };
}

/** `npm run users -- <args>` on the test database; the password, if any, on stdin. */
export function usersCli(stack: Stack, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/users/cli.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: stack.db.url, LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(stdin ?? '');
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`npm run users -- ${args.join(' ')}: exit ${code}\n${out}`))));
  });
}

export interface User {
  email: string;
  name: string;
  password: string;
}

/** `operator`: may read the change outbox (`--operator`). */
export async function addUser(stack: Stack, name: string, opts: { operator?: boolean } = {}): Promise<User> {
  const user = { email: `${name.toLowerCase()}@e2e.example`, name, password: `${name}-correct-horse-battery` };
  await usersCli(stack, ['add', user.email, '--name', name, ...(opts.operator ? ['--operator'] : []), '--password-stdin'], `${user.password}\n`);
  return user;
}

/** A signed-in HTTP client: the session cookie goes with every request. */
export class Session {
  private constructor(
    private readonly base: string,
    private readonly cookie: string,
  ) {}

  static async signIn(base: string, user: User): Promise<Session> {
    const res = await fetch(`${base}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }) });
    if (res.status !== 200) throw new Error(`sign-in of ${user.email}: ${res.status} ${await res.text()}`);
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    if (!cookie) throw new Error(`sign-in of ${user.email}: no session cookie`);
    return new Session(base, cookie);
  }

  async request<T>(method: string, path: string, body?: unknown, expect = [200, 201, 204]): Promise<T> {
    const res = await fetch(`${this.base}/api/${path}`, {
      method,
      // As the app does: a POST, PUT or PATCH always says it is JSON, with or without a body.
      headers: { cookie: this.cookie, ...(body === undefined && (method === 'GET' || method === 'DELETE') ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!expect.includes(res.status)) throw new Error(`${method} /api/${path}: ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  post = (resource: string, body: unknown) => this.request<{ id: string }>('POST', resource, body);
  members = async (projectId: string) => (await this.request<{ items: Member[] }>('GET', `projects/${projectId}/members`)).items;
  /** An owner invites an address into a project; it joins once its user accepts. */
  invite = (projectId: string, email: string, role: MemberRole) => this.request<Invitation>('POST', `projects/${projectId}/invitations`, { email, role });
  /** The signed-in user accepts their invitation into the project. */
  async accept(projectId: string): Promise<void> {
    const { items } = await this.request<{ items: MyInvitation[] }>('GET', 'invitations');
    const invitation = items.find((i) => i.projectId === projectId);
    if (!invitation) throw new Error(`no invitation into project ${projectId} for this user: invite them first`);
    await this.request('POST', `invitations/${invitation.id}/accept`);
  }
}

/** A browser context of its own (its own cookies), signed in through the sign-in page. */
export async function signedInPage(stack: Stack, user: User, context: BrowserContextOptions = {}): Promise<Page> {
  const page = await (await stack.browser.newContext(context)).newPage();
  await page.goto(`${stack.base}/#/`);
  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=user]', { timeout: 15_000 });
  return page;
}

/** Signed in, on a project's page, its socket live. */
export async function openProject(stack: Stack, user: User, projectId: string): Promise<Page> {
  const page = await signedInPage(stack, user);
  await page.goto(`${stack.base}/#/projects/${projectId}`);
  await page.waitForSelector('[data-testid=connection][data-status=live]', { timeout: 15_000 });
  return page;
}

export const projectIds = (page: Page) => page.$$eval('[data-testid=project]', (cards) => cards.map((c) => c.getAttribute('data-id')!));
