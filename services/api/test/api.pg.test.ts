// The HTTP API against a real Postgres (requests through Fastify's inject, signed in
// with a real session): CRUD of each resource, errors that name the field, the list
// cursor, and the signed-in user as the actor in the outbox.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import { decodeCursor, verifyToken } from '@realtime/auth';
import { secret, startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let pool: pg.Pool;
let tester: TestUser;
let operator: TestUser;

beforeAll(async () => {
  fx = await startApi();
  pool = fx.pool;
  tester = await fx.user('tester@example.com');
  operator = await fx.user('ops@example.com', { operator: true });
});
afterAll(async () => {
  await fx?.close();
});

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, as: TestUser = tester, headers: Record<string, string> = {}) => fx.call(method, url, body, as, headers);

describe('CRUD', () => {
  let projectId = '';
  let jobId = '';
  let resultId = '';
  beforeAll(async () => {
    projectId = (await call('POST', '/api/projects', { name: 'Parent' })).body.id;
    jobId = (await call('POST', '/api/extraction-jobs', { projectId, documentName: 'a.pdf' })).body.id;
    resultId = (await call('POST', '/api/extraction-results', { jobId, fieldName: 'total', value: '1', confidence: 0.5 })).body.id;
  });

  const cases = () => [
    { path: 'projects', create: { name: 'Alpha', description: 'first' }, update: { status: 'archived' }, parent: {} },
    { path: 'extraction-jobs', create: { projectId, documentName: 'b.pdf' }, update: { status: 'processing', progress: 40 }, parent: { projectId } },
    { path: 'extraction-results', create: { jobId, fieldName: 'supplier', value: 'Globex', confidence: 0.9, page: 2 }, update: { value: 'Globex GmbH' }, parent: { jobId } },
    { path: 'data-layers', create: { projectId, name: 'Sites', kind: 'vector', source: 's3://x', metadata: { crs: 'EPSG:4326' } }, update: { visible: false }, parent: { projectId } },
    { path: 'supplier-matches', create: { projectId, resultId, supplierName: 'Globex', score: 0.8 }, update: { status: 'confirmed' }, parent: { projectId } },
  ];

  test.each([0, 1, 2, 3, 4])('resource %i: create, read, list by parent, update, delete, 404', async (i) => {
    const c = cases()[i]!;
    const created = await call('POST', `/api/${c.path}`, c.create);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(c.create);
    expect(created.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const id = created.body.id as string;

    expect((await call('GET', `/api/${c.path}/${id}`)).body).toEqual(created.body);
    const qs = new URLSearchParams(c.parent as Record<string, string>).toString();
    const list = await call('GET', `/api/${c.path}?${qs}`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { id: string }) => r.id)).toContain(id);
    for (const [k, v] of Object.entries(c.parent)) for (const item of list.body.items) expect(item[k]).toBe(v);

    const updated = await call('PATCH', `/api/${c.path}/${id}`, c.update);
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject(c.update);
    expect(Date.parse(updated.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt));

    expect((await call('DELETE', `/api/${c.path}/${id}`)).status).toBe(204);
    const gone = await call('GET', `/api/${c.path}/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('NOT_FOUND');
    expect((await call('DELETE', `/api/${c.path}/${id}`)).status).toBe(404);
    expect((await call('PATCH', `/api/${c.path}/${id}`, c.update)).status).toBe(404);
  });

  test('a result takes its project from its job, and a mismatch is refused', async () => {
    const ok = await call('POST', '/api/extraction-results', { jobId, fieldName: 'f', value: 'v', confidence: 0.1 });
    expect(ok.body.projectId).toBe(projectId);
    const other = (await call('POST', '/api/projects', { name: 'Other' })).body.id;
    const bad = await call('POST', '/api/extraction-results', { jobId, projectId: other, fieldName: 'f', value: 'v', confidence: 0.1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/projectId: the job belongs to project/);
  });

  test('lists are newest first and page by after, with an exact total', async () => {
    const p = (await call('POST', '/api/projects', { name: 'Pager' })).body.id;
    for (let i = 0; i < 5; i++) await call('POST', '/api/extraction-jobs', { projectId: p, documentName: `${i}.pdf` });
    const first = await call('GET', `/api/extraction-jobs?projectId=${p}&limit=2`);
    expect(first.body.items.map((j: { documentName: string }) => j.documentName)).toEqual(['4.pdf', '3.pdf']);
    expect(first.body.page).toMatchObject({ limit: 2, total: 5, order: { by: 'createdAt', desc: true, key: 'id' } });
    expect(first.body.page.next).toEqual(expect.any(String));
    const second = await call('GET', `/api/extraction-jobs?projectId=${p}&limit=2&after=${first.body.page.next}`);
    expect(second.body.items.map((j: { documentName: string }) => j.documentName)).toEqual(['2.pdf', '1.pdf']);
    const last = await call('GET', `/api/extraction-jobs?projectId=${p}&limit=2&after=${second.body.page.next}`);
    expect(last.body.items.map((j: { documentName: string }) => j.documentName)).toEqual(['0.pdf']);
    expect(last.body.page).toMatchObject({ next: null, total: 5 });
    const offset = await call('GET', `/api/extraction-jobs?projectId=${p}&limit=2&offset=4`);
    expect(offset.status).toBe(400);
    expect(offset.body.error.message).toBe('invalid query: offset: offset is no longer supported: page with after=<page.next>');
  });
});

describe('errors name the field', () => {
  test.each([
    ['POST', '/api/projects', {}, 400, /name/],
    ['POST', '/api/projects', { name: 42 }, 400, /name/],
    ['POST', '/api/projects', { name: 'x', owner: 'me' }, 400, /owner|Unrecognized/i],
    ['POST', '/api/projects', { name: 'x', status: 'deleted' }, 400, /status/],
    // Not the user's project (here: none at all): the policy refuses before the foreign key is checked.
    ['POST', '/api/extraction-jobs', { projectId: '00000000-0000-0000-0000-000000000000', documentName: 'x' }, 403, /editor role/],
    ['POST', '/api/extraction-jobs', { projectId: 'nope', documentName: 'x' }, 400, /projectId/],
    ['GET', '/api/projects/not-a-uuid', undefined, 400, /id: must be a UUID/],
    ['GET', '/api/projects?limit=0', undefined, 400, /limit/],
    ['GET', '/api/extraction-jobs?project=1', undefined, 400, /project|Unrecognized/i],
    ['PATCH', '/api/projects/00000000-0000-0000-0000-000000000000', {}, 400, /nothing to change/],
  ] as const)('%s %s → %i', async (method, url, body, status, message) => {
    const res = await call(method, url, body);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /);
  });

  test('a progress out of range names the field', async () => {
    const p = (await call('POST', '/api/projects', { name: 'Range' })).body.id;
    const res = await call('POST', '/api/extraction-jobs', { projectId: p, documentName: 'x', progress: 101 });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/progress/);
  });
});

describe('stream handoff and actor', () => {
  test('every list carries a cursor read in the same snapshot as its rows', async () => {
    const list = await call('GET', '/api/projects');
    const cursor = decodeCursor(secret, list.body.cursor);
    expect(cursor.snapshotText).toMatch(/^\d+:\d+:/);
    // No replicator runs here: nothing is stamped, so the list's head is 0.
    expect(cursor.headSeq).toBe(0);
  });

  test('writes record the signed-in user as the actor; X-Actor is ignored', async () => {
    const created = await call('POST', '/api/projects', { name: 'Audited' }, tester, { 'x-actor': 'ceo@northwind.example' });
    await call('PATCH', `/api/projects/${created.body.id}`, { name: 'Audited 2' }, tester, { 'x-actor': 'someone-else' });
    await call('DELETE', `/api/projects/${created.body.id}`);
    const { rows } = await pool.query(`SELECT op, actor, actor_id, db_user FROM change_outbox WHERE row_id = $1 ORDER BY id`, [created.body.id]);
    const by = { actor: tester.email, actor_id: tester.id, db_user: 'realtime_api' };
    expect(rows).toEqual([
      { op: 'INSERT', ...by },
      { op: 'UPDATE', ...by },
      { op: 'DELETE', ...by },
    ]);
  });

  test('GET /api/realtime/token issues a 15-minute token naming the user and the session, which the gateway accepts', async () => {
    const res = await call('GET', '/api/realtime/token');
    expect(res.status).toBe(200);
    const v = await verifyToken(secret, res.body.token);
    expect(v.principal).toEqual({ kind: 'user', userId: tester.id, sessionId: expect.any(String) });
    const sessions = await fx.sql<{ sid: string }>(`SELECT sid FROM sessions WHERE user_id = $1`, [tester.id]);
    expect(sessions.map((s) => s.sid)).toContain(v.principal.kind === 'user' ? v.principal.sessionId : null);
    expect(v.expiresAt! - Date.now() / 1000).toBeLessThanOrEqual(900);
    expect(v.expiresAt! - Date.now() / 1000).toBeGreaterThan(800);
    expect((await fx.call('GET', '/api/realtime/token', undefined, null)).status).toBe(401);
  });
});

describe('outbox over HTTP', () => {
  test('list filters, a row\'s history with diffs, and stats', async () => {
    const dora = await fx.user('dora@example.com');
    const created = await call('POST', '/api/projects', { name: 'Watched' }, dora);
    await fx.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner')`, [created.body.id, tester.id]);
    await call('PATCH', `/api/projects/${created.body.id}`, { description: 'now described' }, tester);
    const byActor = await call('GET', `/api/outbox?actor=${tester.email}&table=projects`, undefined, operator);
    expect(byActor.status).toBe(200);
    expect(byActor.body.items.map((r: { op: string; row_id: string }) => [r.op, r.row_id])).toContainEqual(['UPDATE', created.body.id]);
    const history = await call('GET', `/api/outbox/history/projects/${created.body.id}`, undefined, operator);
    expect(history.body.changes.map((h: { op: string; actor: string }) => [h.op, h.actor])).toEqual([['INSERT', dora.email], ['UPDATE', tester.email]]);
    expect(history.body.changes[1].changes).toEqual(expect.arrayContaining([{ column: 'description', from: '', to: 'now described' }]));
    const tables = await call('GET', '/api/outbox/tables', undefined, operator);
    expect(tables.body.tables).toEqual(expect.arrayContaining(['projects', 'project_members']));
    await fx.sql(`CREATE TABLE outbox_tables_probe (id uuid PRIMARY KEY DEFAULT gen_random_uuid())`);
    await fx.sql(`SELECT realtime_enable('outbox_tables_probe')`);
    expect((await call('GET', '/api/outbox/tables', undefined, operator)).body.tables).toContain('outbox_tables_probe');
    await fx.sql(`DROP TABLE outbox_tables_probe`);
    const stats = await call('GET', '/api/outbox/stats', undefined, operator);
    expect(stats.body).toMatchObject({ mode: 'down', retentionFloor: 0 });
    expect(stats.body.backlog).toBeGreaterThan(0);
    expect(stats.body.warnings.join(' ')).toMatch(/down mode/);
    const bad = await call('GET', '/api/outbox?op=MERGE', undefined, operator);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/op/);
  });
});
