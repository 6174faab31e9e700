// The authorization matrix: every route of the API x every kind of caller x a row in
// project A or in project B -> the status, and for lists exactly which rows come back.
// Row-level security decides (the API runs as realtime_api), so these also prove that the
// policy, not a WHERE clause in a route, keeps projects apart.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MemberRole } from '@realtime/db/schema';
import { METRICS_TOKEN, startApi, type ApiFixture, type TestUser } from './fixture';

type Persona = 'anonymous' | 'viewerA' | 'editorA' | 'ownerA' | 'operator' | 'memberB';
type Role = MemberRole | null;
const personas: Persona[] = ['anonymous', 'viewerA', 'editorA', 'ownerA', 'operator', 'memberB'];
const roleIn = (p: Persona, project: 'A' | 'B'): Role =>
  project === 'A' ? ({ viewerA: 'viewer', editorA: 'editor', ownerA: 'owner' } as Record<string, Role>)[p] ?? null : p === 'memberB' ? 'owner' : null;

const resources = ['projects', 'extraction-jobs', 'extraction-results', 'data-layers', 'supplier-matches'] as const;
type ResourcePath = (typeof resources)[number];

let fx: ApiFixture;
const who = {} as Record<Persona, TestUser | null>;
const project = { A: '', B: '' };
const job = { A: '', B: '' };
/** One row of each resource in each project, for reads. */
const rows = {} as Record<ResourcePath, { A: string; B: string }>;

async function seed(resource: ResourcePath, p: 'A' | 'B', name = 'seeded'): Promise<string> {
  const pid = project[p];
  const q = {
    projects: [`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name]],
    'extraction-jobs': [`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id`, [pid, name]],
    'extraction-results': [`INSERT INTO extraction_results (project_id, job_id, field_name, value, confidence) VALUES ($1, $2, $3, 'v', 0.5) RETURNING id`, [pid, job[p], name]],
    'data-layers': [`INSERT INTO data_layers (project_id, name, kind, source) VALUES ($1, $2, 'vector', 's3://x') RETURNING id`, [pid, name]],
    'supplier-matches': [`INSERT INTO supplier_matches (project_id, supplier_name, score) VALUES ($1, $2, 0.5) RETURNING id`, [pid, name]],
  }[resource] as [string, unknown[]];
  const [row] = await fx.sql<{ id: string }>(q[0], q[1]);
  if (resource === 'projects') {
    // A project made for a write case belongs to the same people as the one it stands in for.
    await fx.sql(`INSERT INTO project_members (project_id, user_id, role) SELECT $1, user_id, role FROM project_members WHERE project_id = $2`, [row!.id, pid]);
  }
  return row!.id;
}

const createBody = (resource: ResourcePath, p: 'A' | 'B') =>
  ({
    projects: { name: 'made' },
    'extraction-jobs': { projectId: project[p], documentName: 'made.pdf' },
    'extraction-results': { jobId: job[p], fieldName: 'made', value: 'v', confidence: 0.4 },
    'data-layers': { projectId: project[p], name: 'made', kind: 'table', source: 'x' },
    'supplier-matches': { projectId: project[p], supplierName: 'made', score: 0.3 },
  })[resource];
const updateBody = (resource: ResourcePath) =>
  ({ projects: { description: 'changed' }, 'extraction-jobs': { progress: 50 }, 'extraction-results': { value: 'w' }, 'data-layers': { visible: false }, 'supplier-matches': { status: 'confirmed' } })[resource];

beforeAll(async () => {
  fx = await startApi();
  who.anonymous = null;
  for (const p of personas.slice(1)) who[p] = await fx.user(`${p.toLowerCase()}@example.com`, { operator: p === 'operator' });
  [project.A, project.B] = (await fx.sql<{ id: string }>(`INSERT INTO projects (name) VALUES ('A'), ('B') RETURNING id`)).map((r) => r.id) as [string, string];
  const grant = (p: Persona, proj: 'A' | 'B', role: string) => fx.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)`, [project[proj], who[p]!.id, role]);
  await grant('viewerA', 'A', 'viewer');
  await grant('editorA', 'A', 'editor');
  await grant('ownerA', 'A', 'owner');
  await grant('memberB', 'B', 'owner');
  for (const p of ['A', 'B'] as const) job[p] = (await fx.sql<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, 'j') RETURNING id`, [project[p]]))[0]!.id;
  for (const r of resources) rows[r] = r === 'projects' ? { ...project } : { A: await seed(r, 'A'), B: await seed(r, 'B') };
});
afterAll(async () => {
  await fx?.close();
});

const cases = personas.flatMap((p) => resources.flatMap((r) => (['A', 'B'] as const).map((where) => [p, r, where] as const)));

describe('reads', () => {
  test.each(personas.flatMap((p) => resources.map((r) => [p, r] as const)))('%s lists %s: exactly the rows of their projects', async (p, r) => {
    const res = await fx.call('GET', `/api/${r}?limit=500`, undefined, who[p]);
    if (p === 'anonymous') return expect(res.status).toBe(401);
    expect(res.status).toBe(200);
    const ids = new Set(res.body.items.map((i: { id: string }) => i.id));
    const projects = new Set(res.body.items.map((i: { id: string; projectId?: string }) => (r === 'projects' ? i.id : i.projectId)));
    for (const where of ['A', 'B'] as const) {
      const member = roleIn(p, where) !== null;
      expect(ids.has(rows[r][where]), `${where}'s row`).toBe(member);
      if (!member) expect(projects.has(project[where]), `any row of ${where}`).toBe(false);
    }
  });

  test.each(cases)('%s reads one %s row in %s', async (p, r, where) => {
    const res = await fx.call('GET', `/api/${r}/${rows[r][where]}`, undefined, who[p]);
    expect(res.status).toBe(p === 'anonymous' ? 401 : roleIn(p, where) ? 200 : 404);
  });
});

describe('writes', () => {
  const canWrite = (r: ResourcePath, role: Role) => (r === 'projects' ? role === 'owner' : role === 'editor' || role === 'owner');
  const expected = (p: Persona, r: ResourcePath, where: 'A' | 'B', ok: number) => {
    if (p === 'anonymous') return 401;
    const role = roleIn(p, where);
    if (!role) return 404;
    return canWrite(r, role) ? ok : 403;
  };

  test.each(cases)('%s changes a %s row in %s', async (p, r, where) => {
    const id = await seed(r, where);
    const res = await fx.call('PATCH', `/api/${r}/${id}`, updateBody(r), who[p]);
    expect(res.status).toBe(expected(p, r, where, 200));
    const [after] = await fx.sql(`SELECT count(*)::int AS n FROM change_outbox WHERE row_id = $1 AND op = 'UPDATE'`, [id]);
    expect(after!.n).toBe(res.status === 200 ? 1 : 0);
  });

  test.each(cases)('%s deletes a %s row in %s', async (p, r, where) => {
    const id = await seed(r, where);
    const res = await fx.call('DELETE', `/api/${r}/${id}`, undefined, who[p]);
    expect(res.status).toBe(expected(p, r, where, 204));
    const table = r.replace(/-/g, '_');
    const [still] = await fx.sql(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1`, [id]);
    expect(still!.n).toBe(res.status === 204 ? 0 : 1);
  });

  test.each(cases.filter(([, r]) => r !== 'projects'))('%s creates a %s row in %s', async (p, r, where) => {
    const res = await fx.call('POST', `/api/${r}`, createBody(r, where), who[p]);
    if (p === 'anonymous') return expect(res.status).toBe(401);
    const role = roleIn(p, where);
    // Creating in a project one cannot see is refused like one where one may only read:
    // the answer does not tell whether the project exists.
    const ok = role === 'editor' || role === 'owner';
    if (r === 'extraction-results' && !role) return expect(res.status).toBe(400); // its job is not found
    expect(res.status).toBe(ok ? 201 : 403);
  });

  test.each(personas)('%s creates a project and owns it', async (p) => {
    const res = await fx.call('POST', '/api/projects', { name: `by ${p}` }, who[p]);
    if (p === 'anonymous') return expect(res.status).toBe(401);
    expect(res.status).toBe(201);
    const me = await fx.call('GET', '/api/auth/me', undefined, who[p]);
    expect(me.body.memberships).toContainEqual({ projectId: res.body.id, role: 'owner' });
  });

  test('moving a job into a project where one is not an editor is refused, into one where one is, allowed', async () => {
    const id = await seed('extraction-jobs', 'A');
    const refused = await fx.call('PATCH', `/api/extraction-jobs/${id}`, { projectId: project.B }, who.editorA);
    expect(refused.status).toBe(403);
    expect((await fx.sql(`SELECT project_id FROM extraction_jobs WHERE id = $1`, [id]))[0]!.project_id).toBe(project.A);
    const own = (await fx.call('POST', '/api/projects', { name: 'Second of editorA' }, who.editorA)).body.id as string;
    const moved = await fx.call('PATCH', `/api/extraction-jobs/${id}`, { projectId: own }, who.editorA);
    expect(moved.status).toBe(200);
    expect(moved.body.projectId).toBe(own);
  });
});

describe('members', () => {
  test.each(personas.flatMap((p) => (['A', 'B'] as const).map((w) => [p, w] as const)))('%s lists the members of %s', async (p, where) => {
    const res = await fx.call('GET', `/api/projects/${project[where]}/members`, undefined, who[p]);
    expect(res.status).toBe(p === 'anonymous' ? 401 : roleIn(p, where) ? 200 : 404);
    if (res.status === 200) expect(res.body.items.every((m: { projectId: string }) => m.projectId === project[where])).toBe(true);
  });

  test.each(personas.flatMap((p) => (['A', 'B'] as const).map((w) => [p, w] as const)))('%s invites someone into %s', async (p, where) => {
    const newcomer = await fx.user(`new-${p.toLowerCase()}-${where.toLowerCase()}@example.com`);
    const res = await fx.call('POST', `/api/projects/${project[where]}/invitations`, { email: newcomer.email, role: 'viewer' }, who[p]);
    const role = roleIn(p, where);
    expect(res.status).toBe(p === 'anonymous' ? 401 : !role ? 404 : role === 'owner' ? 201 : 403);
    const [invited] = await fx.sql(`SELECT count(*)::int AS n FROM project_invitations WHERE email = $1`, [newcomer.email]);
    expect(invited!.n).toBe(res.status === 201 ? 1 : 0);
    // An invitation is no membership: nothing until the invitee accepts.
    const [n] = await fx.sql(`SELECT count(*)::int AS n FROM project_members WHERE user_id = $1`, [newcomer.id]);
    expect(n!.n).toBe(0);
  });

  test.each(personas.flatMap((p) => (['A', 'B'] as const).map((w) => [p, w] as const)))('%s lists the invitations of %s', async (p, where) => {
    const res = await fx.call('GET', `/api/projects/${project[where]}/invitations`, undefined, who[p]);
    const role = roleIn(p, where);
    expect(res.status).toBe(p === 'anonymous' ? 401 : !role ? 404 : role === 'owner' ? 200 : 403);
  });

  test('an owner changes a role, removes a member, and cannot remove or demote the last owner; a member may leave', async () => {
    const a = project.A;
    const extra = await fx.user('extra@example.com');
    const invited = await fx.call('POST', `/api/projects/${a}/invitations`, { email: 'EXTRA@example.com', role: 'viewer' }, who.ownerA);
    expect(invited.status).toBe(201);
    expect((await fx.call('POST', `/api/invitations/${invited.body.id}/accept`, undefined, extra)).status).toBe(201);
    const promoted = await fx.call('PATCH', `/api/projects/${a}/members/${extra.id}`, { role: 'editor' }, who.ownerA);
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ userId: extra.id, role: 'editor', email: extra.email });
    expect((await fx.call('PATCH', `/api/projects/${a}/members/${extra.id}`, { role: 'owner' }, who.editorA)).status).toBe(403);
    expect((await fx.call('PATCH', `/api/projects/${a}/members/${who.memberB!.id}`, { role: 'viewer' }, who.ownerA)).status).toBe(404);
    expect((await fx.call('POST', `/api/projects/${a}/invitations`, { email: extra.email, role: 'owner' }, who.ownerA)).status).toBe(409);
    const demoteLast = await fx.call('PATCH', `/api/projects/${a}/members/${who.ownerA!.id}`, { role: 'viewer' }, who.ownerA);
    expect(demoteLast.status).toBe(409);
    expect(demoteLast.body.error.code).toBe('CONFLICT');
    expect((await fx.call('DELETE', `/api/projects/${a}/members/${who.ownerA!.id}`, undefined, who.ownerA)).status).toBe(409);
    expect((await fx.call('DELETE', `/api/projects/${a}/members/${extra.id}`, undefined, who.viewerA)).status).toBe(403);
    expect((await fx.call('DELETE', `/api/projects/${a}/members/${extra.id}`, undefined, extra)).status).toBe(204);
    expect((await fx.call('GET', `/api/projects/${a}`, undefined, extra)).status).toBe(404);
    const [owners] = await fx.sql(`SELECT count(*)::int AS n FROM project_members WHERE project_id = $1 AND role = 'owner'`, [a]);
    expect(owners!.n).toBe(1);
  });
});

describe('parents of another project', () => {
  // Each reference to a parent that must share the row's project: the resource, its field,
  // and the parent rows in A and B it may name.
  const refs = [
    ['extraction-results', 'jobId', () => job],
    ['supplier-matches', 'resultId', () => rows['extraction-results']],
  ] as const;

  test.each(refs)('an editor of A cannot point a %s row at a parent in B with %s: the answer is POST’s, and the row is unchanged', async (r, field, parents) => {
    const id = await seed(r, 'A');
    const table = r.replace(/-/g, '_');
    const column = field === 'jobId' ? 'job_id' : 'result_id';
    const [before] = await fx.sql(`SELECT ${column} AS parent, version FROM ${table} WHERE id = $1`, [id]);
    const patched = await fx.call('PATCH', `/api/${r}/${id}`, { [field]: parents().B }, who.editorA);
    const posted = await fx.call('POST', `/api/${r}`, { ...createBody(r, 'A'), [field]: parents().B }, who.editorA);
    expect(patched.status).toBe(400);
    expect(patched.body).toEqual(posted.body);
    // The same answer for an id no row has: nothing tells that B's row exists.
    const unknown = '00000000-0000-4000-8000-000000000000';
    const none = await fx.call('PATCH', `/api/${r}/${id}`, { [field]: unknown }, who.editorA);
    expect(none.status).toBe(400);
    expect(none.body.error.message).toBe(patched.body.error.message.replace(parents().B, unknown));
    const [after] = await fx.sql(`SELECT ${column} AS parent, version FROM ${table} WHERE id = $1`, [id]);
    expect(after).toEqual(before);
    // A parent of its own project is taken.
    const ok = await fx.call('PATCH', `/api/${r}/${id}`, { [field]: parents().A }, who.editorA);
    expect(ok.status).toBe(200);
  });

  test('moving a result away from its job’s project is refused as POST refuses it', async () => {
    const own = (await fx.call('POST', '/api/projects', { name: 'Other of editorA' }, who.editorA)).body.id as string;
    const id = await seed('extraction-results', 'A');
    const moved = await fx.call('PATCH', `/api/extraction-results/${id}`, { projectId: own }, who.editorA);
    const posted = await fx.call('POST', '/api/extraction-results', { ...createBody('extraction-results', 'A'), projectId: own }, who.editorA);
    expect(moved.status).toBe(400);
    expect(moved.body).toEqual(posted.body);
    expect((await fx.sql(`SELECT project_id FROM extraction_results WHERE id = $1`, [id]))[0]!.project_id).toBe(project.A);
  });
});

describe('ids of new rows', () => {
  test.each(resources.filter((r) => r !== 'projects'))('a %s id taken in a project one cannot see is refused like a malformed id; one taken in sight is 409', async (r) => {
    const hidden = await seed(r, 'B');
    const taken = await fx.call('POST', `/api/${r}`, { ...createBody(r, 'A'), id: hidden }, who.editorA);
    const malformed = await fx.call('POST', `/api/${r}`, { ...createBody(r, 'A'), id: 'not-a-uuid' }, who.editorA);
    expect(malformed.status).toBe(400);
    expect(taken.status).toBe(400);
    expect(taken.body).toEqual(malformed.body);
    const [rowsWithId] = await fx.sql(`SELECT count(*)::int AS n FROM ${r.replace(/-/g, '_')} WHERE id = $1 AND project_id = $2`, [hidden, project.B]);
    expect(rowsWithId!.n).toBe(1);
    const seen = await seed(r, 'A');
    const again = await fx.call('POST', `/api/${r}`, { ...createBody(r, 'A'), id: seen }, who.editorA);
    expect(again.status).toBe(409);
    expect(again.body.error.fields).toEqual({ id: 'taken' });
  });

  test('a project id taken by a project one cannot see is refused like a malformed id', async () => {
    const taken = await fx.call('POST', '/api/projects', { id: project.B, name: 'mine' }, who.editorA);
    const malformed = await fx.call('POST', '/api/projects', { id: 'not-a-uuid', name: 'mine' }, who.editorA);
    expect(taken.status).toBe(400);
    expect(taken.body).toEqual(malformed.body);
    expect((await fx.call('POST', '/api/projects', { id: project.A, name: 'mine' }, who.viewerA)).status).toBe(409);
  });
});

describe('the write budget, by the route that answers', () => {
  let limited: ApiFixture;
  beforeAll(async () => {
    limited = await startApi({ limits: { writesPerMinute: 3 } });
  });
  afterAll(async () => {
    await limited?.close();
  });

  test('writes to /%61pi/... spend the same budget as /api/...', async () => {
    const u = await limited.user('budget@example.com');
    const statuses: number[] = [];
    for (const url of ['/%61pi/projects', '/api/projects', '/%61pi/%70rojects', '/%61pi/projects', '/api/projects']) {
      statuses.push((await limited.call('POST', url, { name: 'spent' }, u)).status);
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
    const [made] = await limited.sql(`SELECT count(*)::int AS n FROM projects WHERE name = 'spent'`);
    expect(made!.n).toBe(3);
  });
});

describe('operators and identity', () => {
  test.each([
    ['/api/outbox', 'operator'],
    ['/api/outbox/stats', 'operator'],
    ['/api/outbox/tables', 'operator'],
    [`/api/outbox/history/projects/00000000-0000-0000-0000-000000000000`, 'operator'],
    ['/status', 'operator'],
    ['/metrics', 'operator'],
    ['/healthz', 'public'],
  ] as const)('%s is for: %s', async (url, access) => {
    for (const p of personas) {
      const res = await fx.call('GET', url, undefined, who[p]);
      const want = access === 'public' ? 200 : p === 'anonymous' ? 401 : p === 'operator' ? 200 : 403;
      expect(res.status, `${p}`).toBe(want);
    }
  });

  test('/healthz says only ok or not ok', async () => {
    const res = await fx.call('GET', '/healthz', undefined, null);
    expect(Object.keys(res.body).sort()).toEqual(['status']);
  });

  test('/metrics with the metrics token, without a session; a wrong token is refused', async () => {
    expect((await fx.call('GET', '/metrics', undefined, null, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
    expect((await fx.call('GET', '/metrics', undefined, null, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await fx.call('GET', '/api/outbox', undefined, null, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(401);
  });

  test('sign-in: one message for a wrong email and a wrong password; sign-out ends the session', async () => {
    const wrongEmail = await fx.call('POST', '/api/auth/sign-in', { email: 'nobody@example.com', password: 'whatever-long-enough' });
    const wrongPassword = await fx.call('POST', '/api/auth/sign-in', { email: who.viewerA!.email, password: 'whatever-long-enough' });
    expect(wrongEmail.status).toBe(401);
    expect(wrongPassword.status).toBe(401);
    expect(wrongEmail.body).toEqual(wrongPassword.body);
    const ok = await fx.call('POST', '/api/auth/sign-in', { email: who.viewerA!.email.toUpperCase(), password: who.viewerA!.password });
    expect(ok.status).toBe(200);
    const set = String(ok.headers['set-cookie']);
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Lax/i);
    const session = { ...who.viewerA!, cookie: set.split(';')[0]! };
    const me = await fx.call('GET', '/api/auth/me', undefined, session);
    expect(me.body.user).toEqual({ id: who.viewerA!.id, email: who.viewerA!.email, name: 'viewera', operator: false });
    expect(me.body.memberships).toContainEqual({ projectId: project.A, role: 'viewer' });
    expect(me.body.memberships.map((m: { projectId: string }) => m.projectId)).not.toContain(project.B);
    expect((await fx.call('POST', '/api/auth/sign-out', undefined, session)).status).toBe(204);
    expect((await fx.call('GET', '/api/auth/me', undefined, session)).status).toBe(401);
    expect((await fx.call('GET', '/api/auth/me', undefined, null)).status).toBe(401);
    const [stored] = await fx.sql(`SELECT count(*)::int AS n FROM sessions WHERE id = $1`, [session.cookie.split('=')[1]]);
    expect(stored!.n).toBe(0); // the table keeps only a hash of the token
  });

  test('guessing a password slows that account after ten failures a minute, never locks its owner out', async () => {
    const victim = await fx.user('victim@example.com'); // its own sign-in spends nothing
    // From ten addresses, so that it is the account's budget that runs out (hardening.pg.test.ts has the address's, and the pace).
    const guess = (email: string, password: string, ip: string) => fx.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email, password }, remoteAddress: ip });
    const tries: number[] = [];
    for (let i = 0; i < 10; i++) tries.push((await guess(victim.email, `guess-number-${i}`, `10.9.0.${i + 1}`)).statusCode);
    expect(tries).toEqual(Array(10).fill(401));
    // The account now takes one attempt at a time: the first goes at once, and the right password signs in.
    expect((await guess(victim.email, victim.password, '10.9.0.99')).statusCode).toBe(200);
    expect((await guess(who.editorA!.email, who.editorA!.password, '10.9.0.1')).statusCode).toBe(200);
  });
});
