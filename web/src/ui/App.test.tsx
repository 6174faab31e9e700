// @vitest-environment happy-dom
// The shell against a stubbed API and a fake socket: only the sign-in page while signed
// out, the projects after sign-in, back to sign-in on a 401, controls by role, members and invitations,
// a revoked project that says so instead of failing, and a project's lists as windows
// (true totals, Load more, the status filter, only the rows in view rendered).
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { Invitation, Me, Member, MyInvitation } from '@realtime/api/types';
import { onSignedOut, retryable } from '../api';
import { signedOut } from '../session';
import { FakeSocket } from '@realtime/client/testing';
import type { ExtractionJob } from '../rows';
import { App } from './App';
import { clockReaders } from './hooks';

const sockets = vi.hoisted(() => [] as unknown[]);
vi.mock('socket.io-client', async () => {
  const { FakeSocket } = await import('@realtime/client/testing');
  return {
    io: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
  };
});

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';
const P3 = '33333333-3333-4333-8333-333333333333';
const P4 = '44444444-4444-4444-8444-444444444444';
const ann: Me = {
  user: { id: 'u1', email: 'ann@example.com', name: 'Ann', operator: false },
  memberships: [
    { projectId: P1, role: 'owner' },
    { projectId: P2, role: 'viewer' },
  ],
};
const project = (id: string, name: string) => ({ id, name, description: '', status: 'active', createdAt: '2026-01-01T00:00:00.000Z' });
const snapshot = { head: 0, xmin: '1', xmax: '1', xip: [] };
const order = { by: 'createdAt', desc: true, key: 'id' };
const list = (items: unknown[]) => ({ items, cursor: 'CUR', page: { next: null, total: items.length, limit: 200, order, snapshot } });
const PAGED = new Set(['limit', 'after', 'orderBy']);
/** A keyset page as the API answers one: the rows equal to every filter, `limit` of them after `after`. */
function pageOf<T extends object>(rows: readonly T[], q: URLSearchParams) {
  const filters = [...q].filter(([k]) => !PAGED.has(k));
  const matching = rows.filter((r) => filters.every(([k, v]) => String((r as Record<string, unknown>)[k]) === v));
  const limit = Number(q.get('limit') ?? 50);
  const from = Number(q.get('after') ?? 0);
  const items = matching.filter((_, i) => i >= from && i < from + limit);
  const next = from + limit < matching.length ? String(from + limit) : null;
  return { items, cursor: 'CUR', page: { next, total: matching.length, limit, order, snapshot } };
}
const job = (i: number, status: ExtractionJob['status'] = 'queued'): ExtractionJob => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  projectId: P1,
  documentName: `doc-${i}.pdf`,
  status,
  progress: 0,
  error: null,
  startedAt: null,
  finishedAt: null,
  createdAt: new Date(Date.UTC(2026, 0, 1) - i * 1000).toISOString(),
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
});
const member = (userId: string, email: string, role: Member['role']): Member => ({ id: `m-${userId}`, projectId: P1, userId, email, name: email.split('@')[0]!, role, createdAt: '', updatedAt: '' });

type Reply = { status: number; body?: unknown };
/** The rows' estimated height (ProjectPage's jobs table), and the visible height of a windowed table. */
const ROW = 45;
const BOX = 10 * ROW;
function boxHeight(this: HTMLElement): number {
  return this.classList.contains('table-window') ? BOX : 0;
}
let session: Me | null;
let projects: ReturnType<typeof project>[];
type Route = (body: unknown, query: URLSearchParams) => Reply | Promise<Reply>;
let routes: Record<string, Route>;
let jobs: ExtractionJob[];
let pending: Invitation[];
let mine: MyInvitation[];
const calls: string[] = [];
/** Every request's path and query, in order. */
const urls: string[] = [];

const unauthorized: Reply = { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'sign in first' } } };
const signedIn = (fn: (body: unknown, query: URLSearchParams) => Reply) => (body: unknown, query: URLSearchParams) => (session ? fn(body, query) : unauthorized);

function defaultRoutes(): Record<string, Route> {
  return {
    'GET /api/auth/me': () => (session ? { status: 200, body: session } : unauthorized),
    'POST /api/auth/sign-in': (body) => {
      const { email, password } = body as { email: string; password: string };
      if (email !== 'ann@example.com' || password !== 'correct horse battery') return { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'wrong email or password' } } };
      session = ann;
      return { status: 200, body: ann };
    },
    'POST /api/auth/sign-out': () => ((session = null), { status: 204 }),
    'GET /api/realtime/token': signedIn(() => ({ status: 200, body: { token: 'tok', expiresAt: new Date(Date.now() + 900_000).toISOString() } })),
    'GET /api/projects': signedIn(() => ({ status: 200, body: list(projects) })),
    [`GET /api/projects/${P1}`]: signedIn(() => ({ status: 200, body: project(P1, 'Owned') })),
    [`GET /api/projects/${P2}`]: signedIn(() => (projects.some((p) => p.id === P2) ? { status: 200, body: project(P2, 'Shared') } : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no project' } } })),
    'GET /api/extraction-jobs': signedIn((_, q) => ({ status: 200, body: pageOf(jobs, q) })),
    'GET /api/extraction-results': signedIn((_, q) => ({ status: 200, body: pageOf([], q) })),
    'GET /api/data-layers': signedIn(() => ({ status: 200, body: list([]) })),
    'GET /api/supplier-matches': signedIn((_, q) => ({ status: 200, body: pageOf([], q) })),
    [`GET /api/projects/${P1}/members`]: signedIn(() => ({ status: 200, body: { items: [member('u1', 'ann@example.com', 'owner'), member('u2', 'bob@example.com', 'viewer')], page: { limit: 100, next: null, total: 2 } } })),
    [`GET /api/projects/${P2}/members`]: signedIn(() => ({ status: 200, body: { items: [member('u1', 'ann@example.com', 'viewer')], page: { limit: 100, next: null, total: 1 } } })),
    [`GET /api/projects/${P1}/invitations`]: signedIn(() => ({ status: 200, body: { items: pending } })),
    [`POST /api/projects/${P1}/invitations`]: signedIn((body) => {
      const { email, role } = body as { email: string; role: Member['role'] };
      const invitation = { id: `i-${pending.length + 1}`, projectId: P1, email, role, invitedBy: 'u1', createdAt: '', updatedAt: '' };
      pending = [...pending, invitation];
      return { status: 201, body: invitation };
    }),
    [`DELETE /api/projects/${P1}/invitations/i-1`]: signedIn(() => ((pending = pending.filter((i) => i.id !== 'i-1')), { status: 204 })),
    'GET /api/invitations': signedIn(() => ({ status: 200, body: { items: mine } })),
    'POST /api/invitations/inv-1/accept': signedIn(() => {
      mine = [];
      projects = [...projects, project(P3, 'Invited into')];
      session = { ...ann, memberships: [...ann.memberships, { projectId: P3, role: 'editor' }] };
      return { status: 201, body: { ...member('u1', 'ann@example.com', 'editor'), projectId: P3 } };
    }),
    'DELETE /api/invitations/inv-2': signedIn(() => ((mine = mine.filter((i) => i.id !== 'inv-2')), { status: 204 })),
    [`DELETE /api/projects/${P1}/members/u1`]: signedIn(() => ({ status: 409, body: { error: { code: 'CONFLICT', message: 'a project keeps at least one owner' } } })),
  };
}

let container: HTMLElement;
let root: Root;
let qc: QueryClient;
let unlisten: () => void;

beforeEach(async () => {
  session = null;
  projects = [project(P1, 'Owned'), project(P2, 'Shared')];
  pending = [];
  mine = [];
  jobs = [];
  routes = defaultRoutes();
  calls.length = 0;
  urls.length = 0;
  sockets.length = 0;
  window.location.hash = '#/';
  vi.stubGlobal('confirm', () => true);
  // happy-dom lays nothing out: a windowed table's scroll box is given the height of ten rows.
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: boxHeight });
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const [path, query = ''] = url.split('?');
    const key = `${init.method ?? 'GET'} ${path}`;
    calls.push(key);
    urls.push(url);
    const route = routes[key];
    // A route may answer later (a promise): what happens meanwhile can be tested.
    const reply = route ? await route(init.body ? JSON.parse(String(init.body)) : undefined, new URLSearchParams(query)) : { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route ${key}` } } };
    return new Response(reply.status === 204 ? null : JSON.stringify(reply.body ?? {}), { status: reply.status, headers: { 'content-type': 'application/json' } });
  });
  qc = new QueryClient({ defaultOptions: { queries: { staleTime: 30_000, retry: retryable } } });
  unlisten = onSignedOut(() => signedOut(qc));
  container = document.createElement('div');
  document.body.append(container);
  root = createRoot(container);
  await act(async () => root.render(<QueryClientProvider client={qc}><App /></QueryClientProvider>));
  await settle();
});

afterEach(async () => {
  delete (HTMLElement.prototype as { clientHeight?: number }).clientHeight;
  await act(async () => root.unmount());
  container.remove();
  unlisten();
  qc.clear();
  vi.unstubAllGlobals();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await act(async () => new Promise((r) => setTimeout(r, 0)));
}

const text = () => container.textContent ?? '';
/** The requests made since the first `n`. */
const callsSince = (n: number) => calls.filter((_, i) => i >= n);
const $ = <T extends Element = HTMLElement>(selector: string) => container.querySelector<T & HTMLElement>(selector);

function type(input: HTMLInputElement | HTMLSelectElement | null, value: string): void {
  const proto = input instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input!.dispatchEvent(new Event(input instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
}

async function signIn(password = 'correct horse battery'): Promise<void> {
  await act(async () => {
    type($<HTMLInputElement>('input[name=email]'), 'ann@example.com');
    type($<HTMLInputElement>('input[name=password]'), password);
  });
  await act(async () => $<HTMLFormElement>('[data-testid=sign-in]')!.requestSubmit());
  await settle();
}

async function go(hash: string): Promise<void> {
  await act(async () => {
    window.location.hash = hash;
    window.dispatchEvent(new Event('hashchange'));
  });
  await settle();
}

test('signed out: the sign-in page alone, no socket; a wrong password says so; then the projects', async () => {
  expect($('[data-testid=sign-in]')).not.toBeNull();
  expect($('header')).toBeNull();
  expect(sockets).toHaveLength(0);
  expect(calls).not.toContain('GET /api/realtime/token');

  await signIn('wrong password!');
  expect($('[role=alert]')?.textContent).toBe('wrong email or password');
  expect($('header')).toBeNull();

  await signIn();
  expect($('[data-testid=user]')?.textContent).toBe('Ann');
  expect([...container.querySelectorAll('[data-testid=project]')].map((p) => p.getAttribute('data-id'))).toEqual([P1, P2]);
  // Not an operator: no Outbox link.
  expect([...container.querySelectorAll('.nav a')].map((a) => a.textContent)).toEqual(['Projects']);
  // The socket exists now, and connects with the session's token.
  expect(sockets).toHaveLength(1);
  expect((sockets[0] as FakeSocket).handshakes).toEqual([{ token: 'tok', v: 3 }]);
  // Only the owned project offers Delete.
  expect(container.querySelectorAll('[data-testid=project] button')).toHaveLength(1);
});

test('the header: Catching up with how many changes are to come, Offline with the data\'s age, back at once on `online`, no list read again', async () => {
  session = ann;
  await act(async () => void qc.invalidateQueries());
  await settle();
  const socket = sockets[0] as FakeSocket;
  const badge = () => $('[data-testid=connection]')!.textContent;
  await act(async () => socket.up());
  await act(async () => {
    socket.last('subscribe').ack!({ ok: true, id: 's1', headSeq: 10 });
    socket.fire('live', { sub: 's1', seq: 10 });
  });
  expect(badge()).toBe('Live');
  await act(async () => socket.fire('changes', { sub: 's1', channel: 'projects', changes: [{ seq: 11, op: 'UPDATE', row: project(P1, 'Renamed'), old: project(P1, 'Owned'), committedAt: '' }] }));
  const reads = calls.length;

  await act(async () => socket.down());
  expect(badge()).toBe('Offline · data from just now');
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(Date.now() + 125_000);
    // A failed attempt is a new state: the badge reads the clock again.
    await act(async () => socket.fire('connect_error', new Error('offline')));
    expect(badge()).toBe('Offline · data from 2m ago');

    const connects = socket.connects;
    await act(async () => void window.dispatchEvent(new Event('online')));
    expect(socket.connects).toBe(connects + 1);
    await act(async () => socket.up());
    expect(socket.last('subscribe').payload).toMatchObject({ channel: 'projects', since: 11, cursor: 'CUR' });
    await act(async () => socket.last('subscribe').ack!({ ok: true, id: 's2', headSeq: 50 }));
    expect(badge()).toBe('Catching up · 39 to go');
    await act(async () => socket.fire('changes', { sub: 's2', channel: 'projects', changes: [20, 21].map((seq) => ({ seq, op: 'UPDATE', row: project(P1, `Renamed ${seq}`), old: project(P1, 'x'), committedAt: '' })) }));
    expect(badge()).toBe('Catching up · 29 to go');
    await act(async () => socket.fire('live', { sub: 's2', seq: 50 }));
    expect(badge()).toBe('Live · caught up on 2 changes');
    await settle();
  } finally {
    vi.useRealTimers();
  }
  // The replay brought it: no list was read again.
  expect(callsSince(reads).filter((c) => /^GET \/api\/(?!auth|realtime)/.test(c))).toEqual([]);
  expect(text()).toContain('Renamed 21');
});

test('sign out: the session ends, the socket stops, the cache is emptied', async () => {
  session = ann;
  await act(async () => void qc.invalidateQueries());
  await settle();
  const socket = sockets[0] as FakeSocket;
  await act(async () => socket.up());
  const before = calls.length;
  await act(async () => [...container.querySelectorAll('button')].find((b) => b.textContent === 'Sign out')!.click());
  await settle();
  // Nothing asked again on the way out.
  expect(callsSince(before)).toEqual(['POST /api/auth/sign-out']);
  expect($('[data-testid=sign-in]')).not.toBeNull();
  expect(socket.connected).toBe(false);
  expect(qc.getQueryCache().getAll().map((q) => q.queryKey)).toEqual([['auth', 'me']]);
});

test('sign out everywhere: the route is asked with JSON, then the same way out as sign-out, and no notice for what was asked', async () => {
  session = ann;
  await act(async () => void qc.invalidateQueries());
  await settle();
  const socket = sockets[0] as FakeSocket;
  await act(async () => socket.up());
  const before = calls.length;
  let answer: (r: Reply) => void = () => undefined;
  const answered = new Promise<Reply>((resolve) => (answer = resolve));
  routes['POST /api/auth/sign-out-everywhere'] = (body) => (JSON.stringify(body) === '{}' ? ((session = null), answered) : { status: 400, body: {} });
  await act(async () => [...container.querySelectorAll('button')].find((b) => b.textContent === 'Sign out everywhere')!.click());
  // The server ends this session too, and says so on the socket before its answer comes.
  await act(async () => socket.fire('unauthorized', { reason: 'signed-out-everywhere', message: 'every session of this user was signed out: sign in again' }));
  await act(async () => answer({ status: 200, body: { ended: 3 } }));
  await settle();
  expect(callsSince(before)).toEqual(['POST /api/auth/sign-out-everywhere']);
  expect($('[data-testid=sign-in]')).not.toBeNull();
  expect($('[data-testid=session-ended]')).toBeNull();
  expect(socket.connected).toBe(false);
  expect(qc.getQueryCache().getAll().map((q) => q.queryKey)).toEqual([['auth', 'me']]);
});

test('a session the server ended (a password reset elsewhere) drops to the sign-in page, which says why until the next sign-in', async () => {
  await signIn();
  const socket = sockets[0] as FakeSocket;
  await act(async () => socket.up());
  // The cookie is gone with the session: any request now would be refused too.
  session = null;
  const before = calls.length;
  await act(async () => socket.fire('unauthorized', { reason: 'password-reset', message: 'the password was reset, which ends every session: sign in again with the new password' }));
  await settle();
  expect($('[data-testid=sign-in]')).not.toBeNull();
  expect($('header')).toBeNull();
  expect($('[data-testid=session-ended]')?.textContent).toBe('Your password was reset, which signs you out everywhere. Sign in with the new password.');
  // The client stopped: no token asked for, no reconnect.
  expect(callsSince(before).filter((c) => c === 'GET /api/realtime/token')).toEqual([]);
  expect(socket.connected).toBe(false);
  expect(qc.getQueryCache().getAll().map((q) => q.queryKey)).toEqual([['auth', 'me']]);

  await signIn();
  expect($('[data-testid=user]')?.textContent).toBe('Ann');
  await act(async () => void qc.setQueryData(['auth', 'me'], null));
  await settle();
  expect($('[data-testid=sign-in]')).not.toBeNull();
  expect($('[data-testid=session-ended]')).toBeNull();
});

test('an expired token is not a session end: the app stays and the client reconnects', async () => {
  await signIn();
  const socket = sockets[0] as FakeSocket;
  await act(async () => socket.up());
  await act(async () => socket.fire('unauthorized', { reason: 'expired', message: 'the token expired' }));
  await settle();
  expect($('[data-testid=user]')?.textContent).toBe('Ann');
  expect($('[data-testid=session-ended]')).toBeNull();
});

test('a 401 from any request while signed in returns to the sign-in page', async () => {
  await signIn();
  session = null;
  await act(async () => void qc.invalidateQueries({ queryKey: ['projects'] }));
  await settle();
  expect($('[data-testid=sign-in]')).not.toBeNull();
  expect($('header')).toBeNull();
});

test('a viewer sees the project without the forms; an owner manages members, and their errors are shown', async () => {
  await signIn();
  await go(`#/projects/${P2}`);
  expect($('h1')?.textContent).toBe('Shared');
  expect($('[data-testid=role]')?.textContent).toBe('viewer');
  expect($('input[placeholder="document.pdf"]')).toBeNull();
  expect($('input[placeholder="Layer name"]')).toBeNull();
  expect(text()).not.toContain('Delete project');
  expect($('[data-testid=members] form')).toBeNull();
  expect([...container.querySelectorAll('[data-testid=member] button')].map((b) => b.textContent)).toEqual(['Leave']);

  await go(`#/projects/${P1}`);
  expect($('input[placeholder="document.pdf"]')).not.toBeNull();
  expect(text()).toContain('Delete project');
  await act(async () => {
    type($<HTMLInputElement>('[data-testid=members] input[type=email]'), 'nobody@example.com');
  });
  await act(async () => $<HTMLFormElement>('[data-testid=members] form')!.requestSubmit());
  await settle();
  // The same answer for any address: invited, pending until they accept; never "no account".
  expect($('[data-testid=members] [role=status]')?.textContent).toBe('Invited nobody@example.com: they join once they accept.');
  expect([...container.querySelectorAll('[data-testid=invitation]')].map((i) => (i as HTMLElement).dataset.email)).toEqual(['nobody@example.com']);
  expect([...container.querySelectorAll('[data-testid=member]')]).toHaveLength(2);
  await act(async () => ($('[data-testid=invitation] button') as HTMLButtonElement).click());
  await settle();
  expect(container.querySelectorAll('[data-testid=invitation]')).toHaveLength(0);
  expect(calls).toContain(`DELETE /api/projects/${P1}/invitations/i-1`);
  await act(async () => ($('[data-email="ann@example.com"] button') as HTMLButtonElement).click());
  await settle();
  expect(text()).toContain('a project keeps at least one owner');
});

test('a project of 250 members: the true count, the first page, and the rest a page at a time', async () => {
  const many = Array.from({ length: 250 }, (_, i) => member(`m${i}`, `m${String(i).padStart(3, '0')}@example.com`, i === 0 ? 'owner' : 'viewer'));
  routes[`GET /api/projects/${P1}/members`] = signedIn((_, q) => {
    const after = q.get('after') ? atob(q.get('after')!) : '';
    const limit = Number(q.get('limit'));
    const rest = many.filter((m) => m.email > after);
    const items = rest.slice(0, limit);
    return { status: 200, body: { items, page: { limit, next: rest.length > limit ? btoa(items.at(-1)!.email) : null, total: many.length } } };
  });
  await signIn();
  await go(`#/projects/${P1}`);
  const shown = () => container.querySelectorAll('[data-testid=member]').length;
  const footer = () => $('[data-testid=members] [data-testid=more-rows]')?.textContent ?? '';
  expect($('[data-testid=members] [data-testid=total]')?.textContent).toBe('250');
  expect(shown()).toBe(100);
  expect(footer()).toContain('100 of 250 members');
  await act(async () => button($('[data-testid=members]')!, 'Load more')!.click());
  await settle();
  expect(shown()).toBe(200);
  await act(async () => button($('[data-testid=members]')!, 'Load more')!.click());
  await settle();
  expect(shown()).toBe(250);
  expect(footer()).toContain('All 250 members');
  expect(new Set([...container.querySelectorAll<HTMLElement>('[data-testid=member]')].map((m) => m.dataset.email)).size).toBe(250);
});

test('an invitee sees their invitations on the projects page, accepts one and declines another', async () => {
  mine = [
    { id: 'inv-1', projectId: P3, projectName: 'Invited into', role: 'editor', invitedBy: { name: 'Olivia', email: 'olivia@example.com' }, createdAt: '' },
    { id: 'inv-2', projectId: P4, projectName: 'Not for me', role: 'viewer', invitedBy: null, createdAt: '' },
  ];
  await signIn();
  const invitations = () => [...container.querySelectorAll<HTMLElement>('[data-testid=my-invitation]')].map((i) => i.dataset.project);
  expect(invitations()).toEqual([P3, P4]);
  expect($('[data-testid=my-invitations]')?.textContent).toContain('from Olivia');
  const button = (project: string, name: string) => [...container.querySelectorAll<HTMLButtonElement>(`[data-project="${project}"] button`)].find((b) => b.textContent === name)!;
  await act(async () => button(P4, 'Decline').click());
  await settle();
  expect(invitations()).toEqual([P3]);
  await act(async () => button(P3, 'Accept').click());
  await settle();
  expect(calls).toContain('POST /api/invitations/inv-1/accept');
  expect($('[data-testid=my-invitations]')).toBeNull();
  // The session and the project list are read again: the new project is there, with its role.
  expect([...container.querySelectorAll<HTMLElement>('[data-testid=project]')].map((p) => p.dataset.id)).toContain(P3);
});

test('a project revoked while open says so, with a way back, instead of failing', async () => {
  await signIn();
  await go(`#/projects/${P2}`);
  expect($('h1')?.textContent).toBe('Shared');
  // The membership is gone: the server's resync makes the list refetch, without P2.
  projects = [project(P1, 'Owned')];
  session = { ...ann, memberships: [{ projectId: P1, role: 'owner' }] };
  const socket = sockets[0] as FakeSocket;
  await act(async () => socket.up());
  const sub = socket.sent.find((s) => s.event === 'subscribe' && (s.payload as { channel: string }).channel === 'projects')!;
  await act(async () => sub.ack!({ ok: true, id: 'srv-projects', headSeq: 1 }));
  await act(async () => socket.fire('resync', { sub: 'srv-projects', reason: 'membership', headSeq: 2 }));
  await settle();
  expect($('[data-testid=no-access] h2')?.textContent).toBe('You no longer have access to this project');
  expect(calls.filter((c) => c === 'GET /api/auth/me').length).toBeGreaterThanOrEqual(2);
  await act(async () => ($('[data-testid=no-access] a') as HTMLAnchorElement).click());
  await go('#/');
  expect([...container.querySelectorAll('[data-testid=project]')].map((p) => p.getAttribute('data-id'))).toEqual([P1]);
});

test('a deep link to a project never shared is the same message, not an error', async () => {
  window.location.hash = '#/projects/33333333-3333-4333-8333-333333333333';
  await signIn();
  // Sign-in lands on the projects.
  expect(window.location.hash).toBe('#/');
  await go('#/projects/33333333-3333-4333-8333-333333333333');
  expect($('[data-testid=no-access]')).not.toBeNull();
});

const jobRows = () => [...container.querySelectorAll<HTMLElement>('[data-testid=job]')];
const jobsPanel = () => $('[data-testid=jobs]')!.closest('section')!;
const jobsTotal = () => jobsPanel().querySelector('[data-testid=total]')!;
const button = (within: Element, name: string) => [...within.querySelectorAll('button')].find((b) => b.textContent === name);

test('the jobs of a project: the true total, formatted; the next page on Load more, appended after the first', async () => {
  jobs = Array.from({ length: 5008 }, (_, i) => job(i));
  await signIn();
  await go(`#/projects/${P1}`);
  expect(jobsTotal().textContent).toBe('5,008');
  expect(jobsTotal().getAttribute('aria-label')).toBe('5,008 jobs');
  expect($('[data-testid=more-rows]')?.textContent).toContain('100 of 5,008 jobs');
  const first = urls.filter((u) => u.startsWith('/api/extraction-jobs?'));
  expect(first).toHaveLength(1);
  expect(Object.fromEntries(new URLSearchParams(first[0]!.split('?')[1]))).toEqual({ limit: '100', projectId: P1 });
  // Only a screenful and its overscan rendered, from the newest.
  expect(jobRows()[0]!.dataset.id).toBe(jobs[0]!.id);

  await act(async () => button(jobsPanel(), 'Load more')!.click());
  await settle();
  const next = urls.filter((u) => u.startsWith('/api/extraction-jobs?'));
  expect(next).toHaveLength(2);
  expect(new URLSearchParams(next[1]!.split('?')[1]).get('after')).toBe('100');
  expect($('[data-testid=more-rows]')?.textContent).toContain('200 of 5,008 jobs');
  expect(jobsTotal().textContent).toBe('5,008');
  // Appended: the first page's rows still lead.
  expect(jobRows()[0]!.dataset.id).toBe(jobs[0]!.id);
});

test('the status filter asks for that status and shows its own total; back to all', async () => {
  jobs = Array.from({ length: 30 }, (_, i) => job(i, i % 3 === 0 ? 'failed' : 'completed'));
  await signIn();
  await go(`#/projects/${P1}`);
  expect(jobsTotal().textContent).toBe('30');
  await act(async () => type($<HTMLSelectElement>('[data-testid=job-status-filter]'), 'failed'));
  await settle();
  const asked = urls.filter((u) => u.startsWith('/api/extraction-jobs?')).at(-1)!;
  expect(Object.fromEntries(new URLSearchParams(asked.split('?')[1]))).toEqual({ limit: '100', projectId: P1, status: 'failed' });
  expect(jobsTotal().textContent).toBe('10');
  expect(new Set(jobRows().map((r) => r.dataset.status))).toEqual(new Set(['failed']));
  expect(qc.getQueryCache().findAll({ queryKey: ['extraction', 'jobs', P1] }).map((q) => q.queryKey[3])).toEqual([{}, { status: 'failed' }]);

  await act(async () => type($<HTMLSelectElement>('[data-testid=job-status-filter]'), ''));
  await settle();
  expect(jobsTotal().textContent).toBe('30');
});

test('a 5,000-row list renders only the rows in view, and the rows of wherever it is scrolled to', async () => {
  jobs = Array.from({ length: 5000 }, (_, i) => job(i));
  // One page holding all of them: the table, not the paging, is under test.
  routes['GET /api/extraction-jobs'] = signedIn((_, q) => ({ status: 200, body: { ...pageOf(jobs, q), items: jobs, page: { ...pageOf(jobs, q).page, next: null } } }));
  await signIn();
  await go(`#/projects/${P1}`);
  expect(jobsTotal().textContent).toBe('5,000');
  expect($('[data-testid=more-rows]')?.textContent).toBe('All 5,000 jobs');
  const shown = jobRows();
  expect(shown.length).toBeGreaterThanOrEqual(BOX / ROW);
  expect(shown.length).toBeLessThan(40);
  // The scroll height is every row's: spacer rows stand for the ones not rendered.
  const spacers = [...container.querySelectorAll<HTMLElement>('[data-testid=jobs] tr.gap td')].map((td) => parseFloat(td.style.height));
  expect(spacers.reduce((a, b) => a + b, 0) + shown.length * ROW).toBe(5000 * ROW);

  const box = $('[data-testid=jobs]')!.closest<HTMLElement>('.table-window')!;
  await act(async () => {
    box.scrollTop = 2500 * ROW;
    box.dispatchEvent(new Event('scroll'));
  });
  await settle();
  const indexes = jobRows().map((r) => Number(r.dataset.index));
  expect(indexes).toContain(2500);
  expect(indexes).toContain(2509);
  expect(jobRows().length).toBeLessThan(40);
  expect(jobRows().find((r) => r.dataset.index === '2500')!.dataset.id).toBe(jobs[2500]!.id);
});

test('while the lists load, no count reads 0: a placeholder until the total is known', async () => {
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  jobs = [job(1), job(2), job(3)];
  routes['GET /api/extraction-jobs'] = async (_, q) => (await answered, { status: 200, body: pageOf(jobs, q) });
  let members: () => void = () => undefined;
  const membersAnswered = new Promise<void>((resolve) => (members = resolve));
  const membersRoute = routes[`GET /api/projects/${P1}/members`]!;
  routes[`GET /api/projects/${P1}/members`] = async (body, q) => (await membersAnswered, membersRoute(body, q));
  await signIn();
  await go(`#/projects/${P1}`);
  const counts = () => [...container.querySelectorAll<HTMLElement>('h2 .count')].map((c) => [c.closest('h2')!.firstChild!.textContent!.trim(), c.textContent]);
  expect(counts()).toEqual([
    ['Extraction jobs', '…'],
    ['Results', '0'],
    ['Data layers', '0'],
    ['Supplier matches', '0'],
    ['Members', '…'],
  ]);
  expect(jobsTotal().getAttribute('aria-busy')).toBe('true');
  expect($('[data-testid=more-rows]')).toBeNull();
  await act(async () => {
    answer();
    members();
  });
  await settle();
  expect(counts()).toEqual([
    ['Extraction jobs', '3'],
    ['Results', '0'],
    ['Data layers', '0'],
    ['Supplier matches', '0'],
    ['Members', '2'],
  ]);
  expect(text()).toContain('All 3 jobs');
});

test('a row entering above the view does not move the rows in view; at the top, a new row shows', async () => {
  jobs = Array.from({ length: 300 }, (_, i) => job(i + 10));
  await signIn();
  await go(`#/projects/${P1}`);
  const box = $('[data-testid=jobs]')!.closest<HTMLElement>('.table-window')!;
  // happy-dom keeps scrollTo's offset to itself: scroll as a browser does.
  box.scrollTo = ((o: ScrollToOptions) => {
    box.scrollTop = o.top ?? box.scrollTop;
    box.dispatchEvent(new Event('scroll'));
  }) as typeof box.scrollTo;
  const key = qc.getQueryCache().findAll({ queryKey: ['extraction', 'jobs', P1] })[0]!.queryKey;
  type Pages = { pages: ReturnType<typeof pageOf<ExtractionJob>>[]; pageParams: unknown[] };
  const arrive = (row: ExtractionJob) =>
    act(async () => void qc.setQueryData<Pages>(key, (d) => ({ ...d!, pages: d!.pages.map((p, i) => (i === 0 ? { ...p, items: [row, ...p.items], page: { ...p.page, total: p.page.total + 1 } } : p)) })));

  // At the top: the new row is the first one in view.
  await arrive(job(1));
  await settle();
  expect(box.scrollTop).toBe(0);
  expect(jobRows()[0]!.dataset.id).toBe(job(1).id);

  await act(async () => {
    box.scrollTop = 50 * ROW;
    box.dispatchEvent(new Event('scroll'));
  });
  await settle();
  const firstInView = () => jobRows().find((r) => Number(r.dataset.index) * ROW >= box.scrollTop)!;
  const reading = firstInView().dataset.id;
  await arrive(job(2));
  // The virtualizer writes the corrected offset in its next animation frame.
  await vi.waitFor(() => expect(box.scrollTop).toBe(51 * ROW));
  await settle();
  expect(firstInView().dataset.id).toBe(reading);
  expect(jobsTotal().textContent).toBe('302');
});

test('the outbox: the newest page followed; older changes loaded by position on demand, which stops following; the seq button of a row opens its history', async () => {
  const change = (i: number) => ({ id: String(i), seq: String(i), table_name: 'projects', op: 'UPDATE', row_id: P1, actor: null, committed_at: null, created_at: '' });
  const all = Array.from({ length: 150 }, (_, i) => change(150 - i));
  routes['GET /api/outbox'] = signedIn((_, q) => {
    expect(q.has('offset')).toBe(false);
    const before = q.has('before') ? Number(q.get('before')) : Infinity;
    const limit = Number(q.get('limit'));
    const items = all.filter((c) => Number(c.id) < before).slice(0, limit);
    const more = all.filter((c) => Number(c.id) < before).length > limit;
    return { status: 200, body: { items, page: { limit, next: more ? Number(items.at(-1)!.id) : null, total: all.length, totalCapped: false } } };
  });
  routes['GET /api/outbox/stats'] = signedIn(() => ({ status: 200, body: { mode: 'wal', reason: null, headSeq: 150, backlog: 0, slotLagBytes: 0, retentionFloor: 0, leader: null, warnings: [] } }));
  routes['GET /api/outbox/tables'] = signedIn(() => ({ status: 200, body: { tables: ['projects'] } }));
  routes['GET /api/outbox/history/projects/' + P1] = signedIn(() => ({ status: 200, body: { table: 'projects', id: P1, changes: [], truncated: false } }));
  session = { ...ann, user: { ...ann.user, operator: true } };
  await act(async () => void qc.invalidateQueries());
  await settle();
  await go('#/outbox');
  const footer = () => container.querySelector('[data-testid=more-rows]')?.textContent ?? '';
  const follow = () => [...container.querySelectorAll<HTMLInputElement>('input[type=checkbox]')].find((i) => i.parentElement?.textContent?.includes('Follow'))!;
  expect(footer()).toContain('100 of 150 changes');
  expect(container.querySelector('[data-testid=total]')?.textContent).toBe('150');
  expect(follow().checked).toBe(true);
  await act(async () => button(container, 'Load more')!.click());
  await settle();
  expect(footer()).toContain('All 150 changes');
  expect(urls.filter((u) => u.startsWith('/api/outbox?')).map((u) => new URLSearchParams(u.split('?')[1]).get('before'))).toContain('51');
  expect(follow().checked).toBe(false);
  expect(button(container, 'Load more')).toBeUndefined();
  // Every row has a button (its seq) in the tab order, which opens its history.
  const row = container.querySelector<HTMLTableRowElement>('[data-testid=outbox] tbody tr[data-key]')!;
  const seq = row.querySelector('button')!;
  // The visible seq starts its accessible name (axe: label-content-name-mismatch).
  expect(seq.getAttribute('aria-label')).toBe(`150: history of projects ${P1}`);
  await act(async () => seq.click());
  await settle();
  expect(container.querySelector('[data-testid=history]')?.getAttribute('aria-label')).toBe(`History of projects ${P1}`);
});

test('the duration ticker: only the running jobs in view read the clock, and their cells move with it', async () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
  try {
    const started = new Date(Date.now() - 5000).toISOString();
    jobs = Array.from({ length: 5000 }, (_, i) => ({ ...job(i, i === 1 ? 'completed' : 'processing'), startedAt: started, finishedAt: i === 1 ? started : null }));
    routes['GET /api/extraction-jobs'] = signedIn((_, q) => ({ status: 200, body: { ...pageOf(jobs, q), items: jobs, page: { ...pageOf(jobs, q).page, next: null } } }));
    await signIn();
    await go(`#/projects/${P1}`);
    const running = jobRows().filter((r) => r.dataset.status === 'processing');
    expect(running.length).toBeGreaterThan(0);
    expect(clockReaders(1000)).toBe(running.length);
    const cell = () => jobRows()[0]!.querySelectorAll('td')[3]!.textContent;
    expect(cell()).toBe('5s');
    expect(jobRows()[1]!.querySelectorAll('td')[3]!.textContent).toBe('0s');
    await act(async () => void vi.advanceTimersByTime(1000));
    expect(cell()).toBe('6s');
  } finally {
    vi.useRealTimers();
  }
});

test('the row holding the keyboard focus stays rendered while scrolled out of view', async () => {
  jobs = Array.from({ length: 500 }, (_, i) => job(i));
  await signIn();
  await go(`#/projects/${P1}`);
  const del = jobRows()[0]!.querySelector<HTMLButtonElement>('button.danger')!;
  await act(async () => del.focus());
  const box = $('[data-testid=jobs]')!.closest<HTMLElement>('.table-window')!;
  await act(async () => {
    box.scrollTop = 80 * ROW;
    box.dispatchEvent(new Event('scroll'));
  });
  await settle();
  expect(jobRows().map((r) => Number(r.dataset.index))).toContain(80);
  expect(jobRows()[0]!.dataset.index).toBe('0');
  expect(document.activeElement).toBe(del);
  expect(del.isConnected).toBe(true);
});

test('supplier matches: the next page is asked for when the end of the list comes into view', async () => {
  const watched: { target: Element; fire: (isIntersecting: boolean) => void }[] = [];
  vi.stubGlobal(
    'IntersectionObserver',
    class {
      constructor(private readonly cb: (entries: { isIntersecting: boolean; target: Element }[]) => void) {}
      observe(target: Element) {
        watched.push({ target, fire: (isIntersecting) => this.cb([{ isIntersecting, target }]) });
      }
      disconnect() {}
    },
  );
  const matches = Array.from({ length: 150 }, (_, i) => ({ id: `m-${i}`, projectId: P1, supplierName: `Supplier ${i}`, score: '0.5', status: 'pending', createdAt: '', updatedAt: '', version: 1 }));
  routes['GET /api/supplier-matches'] = signedIn((_, q) => ({ status: 200, body: pageOf(matches, q) }));
  await signIn();
  await go(`#/projects/${P1}`);
  const panel = $('[data-testid=matches]')!.closest('section')!;
  expect(panel.querySelector('[data-testid=total]')!.textContent).toBe('150');
  expect(panel.querySelectorAll('[data-testid=match]')).toHaveLength(100);
  const end = watched.find((w) => panel.contains(w.target))!;
  await act(async () => end.fire(true));
  await settle();
  expect(urls.filter((u) => u.startsWith('/api/supplier-matches?')).map((u) => new URLSearchParams(u.split('?')[1]).get('after'))).toEqual([null, '100']);
  expect(panel.querySelectorAll('[data-testid=match]')).toHaveLength(150);
  expect(panel.querySelector('[data-testid=more-rows]')!.textContent).toBe('All 150 matches');
});
