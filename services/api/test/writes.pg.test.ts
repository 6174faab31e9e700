// Writes a client can retry and check, against a real Postgres: Idempotency-Key (a
// retry is answered, not applied again; one change in the outbox), If-Match against the
// row's version (which a trigger bumps whoever writes), client-made ids, and the txid
// every write answers with, which is the txid of the changes it produced.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiFixture, type Response, type TestUser } from './fixture';
import { pruneIdempotencyKeys } from '../src/writes/prune';
import { requestHash } from '../src/writes/idempotency';

let fx: ApiFixture;
let alice: TestUser;
let bob: TestUser;
let viewer: TestUser;
let projectId = '';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const call = (method: Method, url: string, body?: unknown, as: TestUser = alice, headers: Record<string, string> = {}) => fx.call(method, url, body, as, headers);
const key = () => `k-${randomUUID()}`;

/** The outbox rows of one row: op and txid, oldest first. */
const changesOf = (rowId: string) => fx.sql<{ op: string; txid: string }>(`SELECT op, txid::text AS txid FROM change_outbox WHERE row_id = $1 ORDER BY id`, [rowId]);
const outboxCount = async () => Number((await fx.sql<{ n: string }>(`SELECT count(*) AS n FROM change_outbox`))[0]!.n);

/** What a client compares between a first answer and its replay. */
const answer = (r: Response) => ({ status: r.status, body: r.body, etag: r.headers.etag, txid: r.headers['realtime-txid'] });

beforeAll(async () => {
  fx = await startApi();
  alice = await fx.user('alice@example.com');
  bob = await fx.user('bob@example.com');
  viewer = await fx.user('viewer@example.com');
  const made = await call('POST', '/api/projects', { name: 'Writes' });
  if (made.status !== 201) throw new Error(JSON.stringify(made.body));
  projectId = made.body.id;
  await fx.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'editor'), ($1, $3, 'viewer')`, [projectId, bob.id, viewer.id]);
});
afterAll(async () => {
  await fx?.close();
});

const newJob = async (documentName = 'a.pdf') => (await call('POST', '/api/extraction-jobs', { projectId, documentName })).body as { id: string; version: number };

describe('versions', () => {
  test('a new row is at version 1 and GET answers with its ETag', async () => {
    const job = await newJob();
    expect(job.version).toBe(1);
    const got = await call('GET', `/api/extraction-jobs/${job.id}`);
    expect(got.status).toBe(200);
    expect(got.headers.etag).toBe('"1"');
    expect(got.body.version).toBe(1);
  });

  test('every UPDATE adds 1, whoever writes: the API, and SQL that sets version itself or not at all', async () => {
    const job = await newJob();
    const patched = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 10 });
    expect(patched.body.version).toBe(2);
    expect(patched.headers.etag).toBe('"2"');
    await fx.sql(`UPDATE extraction_jobs SET progress = 20 WHERE id = $1`, [job.id]);
    await fx.sql(`UPDATE extraction_jobs SET progress = 30, version = 1 WHERE id = $1`, [job.id]);
    const got = await call('GET', `/api/extraction-jobs/${job.id}`);
    expect(got.body.version).toBe(4);
    expect(got.headers.etag).toBe('"4"');
    // The stream carries it as any column.
    const { rows } = await fx.pool.query(`SELECT (new_row ->> 'version')::int AS v FROM change_outbox WHERE row_id = $1 ORDER BY id`, [job.id]);
    expect(rows.map((r) => r.v)).toEqual([1, 2, 3, 4]);
  });

  test('version is the server\'s: a body that sets it is refused, naming it', async () => {
    const job = await newJob();
    for (const [method, url, body] of [
      ['POST', '/api/extraction-jobs', { projectId, documentName: 'v.pdf', version: 7 }],
      ['PATCH', `/api/extraction-jobs/${job.id}`, { progress: 5, version: 7 }],
    ] as const) {
      const res = await call(method, url, body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/version: set by the server/);
      expect(res.body.error.fields).toHaveProperty('version');
    }
    expect((await call('GET', `/api/extraction-jobs/${job.id}`)).body.version).toBe(1);
  });
});

describe('If-Match', () => {
  test('a matching version writes and bumps it; "N" and a bare N both match', async () => {
    const job = await newJob();
    const first = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 10 }, alice, { 'if-match': '"1"' });
    expect(first.status).toBe(200);
    expect(first.headers.etag).toBe('"2"');
    const second = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 20 }, alice, { 'if-match': '2' });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ progress: 20, version: 3 });
    // `*`: any current row, as without the header.
    expect((await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 30 }, alice, { 'if-match': '*' })).body.version).toBe(4);
  });

  test('a stale version is a 409 with the current row (shaped as GET) and its ETag; nothing written', async () => {
    const job = await newJob();
    // Another user's write, then SQL that does not touch version: the trigger counts both.
    await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 40 }, bob);
    await fx.sql(`UPDATE extraction_jobs SET document_name = 'renamed.pdf' WHERE id = $1`, [job.id]);
    const before = await outboxCount();
    const stale = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 99 }, alice, { 'if-match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('CONFLICT');
    expect(stale.body.error.message).toMatch(new RegExp(`extraction job ${job.id} is at version 3, not 1`));
    const current = await call('GET', `/api/extraction-jobs/${job.id}`);
    expect(stale.body.error.current).toEqual(current.body);
    expect(stale.body.error.current).toMatchObject({ version: 3, progress: 40, documentName: 'renamed.pdf' });
    expect(stale.headers.etag).toBe('"3"');
    expect(stale.headers['realtime-txid']).toBeUndefined();
    expect(await outboxCount()).toBe(before);
    // Rebased onto the current version, it goes through.
    const rebased = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 99 }, alice, { 'if-match': stale.headers.etag as string });
    expect(rebased.status).toBe(200);
    expect(rebased.body.version).toBe(4);
  });

  test('without If-Match the last write wins, as before', async () => {
    const job = await newJob();
    await fx.sql(`UPDATE extraction_jobs SET progress = 1 WHERE id = $1`, [job.id]);
    const res = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 2 });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(3);
  });

  test('DELETE with a stale version is a 409 and keeps the row; with the current one it deletes', async () => {
    const job = await newJob();
    await fx.sql(`UPDATE extraction_jobs SET progress = 5 WHERE id = $1`, [job.id]);
    const stale = await call('DELETE', `/api/extraction-jobs/${job.id}`, undefined, alice, { 'if-match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.body.error.current).toMatchObject({ id: job.id, version: 2 });
    expect((await call('GET', `/api/extraction-jobs/${job.id}`)).status).toBe(200);
    const gone = await call('DELETE', `/api/extraction-jobs/${job.id}`, undefined, alice, { 'if-match': '"2"' });
    expect(gone.status).toBe(204);
    expect((await call('GET', `/api/extraction-jobs/${job.id}`)).status).toBe(404);
  });

  test('a missing row is still a 404 and a viewer\'s write a 403, version or not', async () => {
    const missing = randomUUID();
    expect((await call('PATCH', `/api/extraction-jobs/${missing}`, { progress: 1 }, alice, { 'if-match': '"1"' })).status).toBe(404);
    expect((await call('DELETE', `/api/extraction-jobs/${missing}`, undefined, alice, { 'if-match': '"1"' })).status).toBe(404);
    const job = await newJob();
    const res = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 1 }, viewer, { 'if-match': '"1"' });
    expect(res.status).toBe(403);
    // A row another user cannot see: not a 409 that would show it.
    const outsider = await fx.user('outsider-ifmatch@example.com');
    const hidden = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 1 }, outsider, { 'if-match': '"9"' });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.current).toBeUndefined();
  });

  test('two writers with the same version at once: one wins, the other gets 409', async () => {
    const job = await newJob();
    const results = await Promise.all([
      call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 11 }, alice, { 'if-match': '"1"' }),
      call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 22 }, bob, { 'if-match': '"1"' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const updates = (await changesOf(job.id)).filter((c) => c.op === 'UPDATE');
    expect(updates).toHaveLength(1);
  });
});

describe('client-made ids', () => {
  test('POST takes the new row\'s uuid from the body; one taken already is a 409 naming it', async () => {
    const id = randomUUID();
    const created = await call('POST', '/api/extraction-jobs', { id, projectId, documentName: 'mine.pdf' });
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(id);
    expect(created.headers.etag).toBe('"1"');
    const before = await outboxCount();
    const again = await call('POST', '/api/extraction-jobs', { id, projectId, documentName: 'other.pdf' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    expect(again.body.error.message).toContain(id);
    expect(await outboxCount()).toBe(before);
    expect((await call('GET', `/api/extraction-jobs/${id}`)).body.documentName).toBe('mine.pdf');
  });

  test('a project with a client-made id; a malformed id is a 400', async () => {
    const id = randomUUID();
    const created = await call('POST', '/api/projects', { id, name: 'Chosen' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, name: 'Chosen', version: 1 });
    expect((await call('POST', '/api/projects', { id: 'not-a-uuid', name: 'x' })).status).toBe(400);
  });
});

describe('Realtime-Txid', () => {
  test('is the txid of the outbox rows each write produced, DELETE included', async () => {
    const created = await call('POST', '/api/projects', { name: 'Txid' });
    const id = created.body.id as string;
    const txidCreate = created.headers['realtime-txid'] as string;
    expect(txidCreate).toMatch(/^\d+$/);
    // The project and its creator's membership: one transaction.
    const { rows } = await fx.pool.query(`SELECT table_name, txid::text AS txid FROM change_outbox WHERE txid = $1::xid8 ORDER BY id`, [txidCreate]);
    expect(rows.map((r) => r.table_name).sort()).toEqual(['project_members', 'projects']);
    const patched = await call('PATCH', `/api/projects/${id}`, { name: 'Txid 2' });
    const deleted = await call('DELETE', `/api/projects/${id}`);
    expect(deleted.status).toBe(204);
    const changes = await changesOf(id);
    expect(changes).toEqual([
      { op: 'INSERT', txid: txidCreate },
      { op: 'UPDATE', txid: patched.headers['realtime-txid'] },
      { op: 'DELETE', txid: deleted.headers['realtime-txid'] },
    ]);
    expect(new Set(changes.map((c) => c.txid)).size).toBe(3);
  });
});

describe('Idempotency-Key', () => {
  test('a create sent twice: one row, one change, the same answer, the second marked replayed', async () => {
    const k = key();
    const body = { projectId, documentName: 'once.pdf' };
    const first = await call('POST', '/api/extraction-jobs', body, alice, { 'idempotency-key': k });
    const second = await call('POST', '/api/extraction-jobs', body, alice, { 'idempotency-key': k });
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(answer(second)).toEqual(answer(first));
    expect(await changesOf(first.body.id)).toEqual([{ op: 'INSERT', txid: first.headers['realtime-txid'] }]);
    const n = await fx.sql<{ n: string }>(`SELECT count(*) AS n FROM extraction_jobs WHERE document_name = 'once.pdf'`);
    expect(Number(n[0]!.n)).toBe(1);
  });

  test('a create with a client-made id sent twice is a replay, not a 409', async () => {
    const k = key();
    const body = { id: randomUUID(), projectId, documentName: 'queued.pdf' };
    const first = await call('POST', '/api/extraction-jobs', body, alice, { 'idempotency-key': k });
    const second = await call('POST', '/api/extraction-jobs', body, alice, { 'idempotency-key': k });
    expect(first.status).toBe(201);
    expect(answer(second)).toEqual(answer(first));
    expect(second.headers['idempotent-replayed']).toBe('true');
  });

  test('an update sent twice is applied once (one version bump, one change)', async () => {
    const job = await newJob();
    const k = key();
    const headers = { 'idempotency-key': k, 'if-match': '"1"' };
    const first = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 50 }, alice, headers);
    const second = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 50 }, alice, headers);
    expect(first.status).toBe(200);
    // Not a 409, though the row is at version 2 now: the retry is answered, not judged again.
    expect(answer(second)).toEqual(answer(first));
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect((await changesOf(job.id)).filter((c) => c.op === 'UPDATE')).toEqual([{ op: 'UPDATE', txid: first.headers['realtime-txid'] }]);
    expect((await call('GET', `/api/extraction-jobs/${job.id}`)).body.version).toBe(2);
  });

  test('a delete sent twice: 204 both times with the same txid, one change', async () => {
    const job = await newJob();
    const k = key();
    const first = await call('DELETE', `/api/extraction-jobs/${job.id}`, undefined, alice, { 'idempotency-key': k });
    const second = await call('DELETE', `/api/extraction-jobs/${job.id}`, undefined, alice, { 'idempotency-key': k });
    expect([first.status, second.status]).toEqual([204, 204]);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers['realtime-txid']).toBe(first.headers['realtime-txid']);
    expect(second.body).toBeNull();
    expect((await changesOf(job.id)).filter((c) => c.op === 'DELETE')).toEqual([{ op: 'DELETE', txid: first.headers['realtime-txid'] }]);
  });

  test('the same key with another request is a 422 and writes nothing', async () => {
    const job = await newJob();
    const k = key();
    await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 1 }, alice, { 'idempotency-key': k });
    const before = await outboxCount();
    for (const [method, url, body, extra] of [
      ['PATCH', `/api/extraction-jobs/${job.id}`, { progress: 2 }, {}],
      ['PATCH', `/api/extraction-jobs/${job.id}`, { progress: 1 }, { 'if-match': '"2"' }],
      ['POST', '/api/extraction-jobs', { projectId, documentName: 'reuse.pdf' }, {}],
      ['DELETE', `/api/extraction-jobs/${job.id}`, undefined, {}],
    ] as const) {
      const res = await call(method, url, body, alice, { 'idempotency-key': k, ...extra });
      expect(res.status, `${method} ${JSON.stringify(body)}`).toBe(422);
      expect(res.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(res.body.error.message).toContain(k);
    }
    expect(await outboxCount()).toBe(before);
    expect((await call('GET', `/api/extraction-jobs/${job.id}`)).body).toMatchObject({ progress: 1, version: 2 });
    // The body's key order is not the request: the same fields in another order replay.
    const replay = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 1 }, alice, { 'idempotency-key': k });
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  test('the same body in another key order is the same request', async () => {
    const k = key();
    const first = await call('POST', '/api/data-layers', { projectId, name: 'L', kind: 'vector', source: 's', metadata: { a: 1, b: 2 } }, alice, { 'idempotency-key': k });
    const second = await call('POST', '/api/data-layers', { metadata: { b: 2, a: 1 }, source: 's', kind: 'vector', name: 'L', projectId }, alice, { 'idempotency-key': k });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body.id).toBe(first.body.id);
  });

  test('two requests with one key at once: one write, both get its answer', async () => {
    const k = key();
    const body = { projectId, documentName: 'race.pdf' };
    const results = await Promise.all([0, 1, 2].map(() => call('POST', '/api/extraction-jobs', body, alice, { 'idempotency-key': k })));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(2);
    for (const r of results) expect(answer(r)).toEqual(answer(results[0]!));
    expect(await changesOf(results[0]!.body.id)).toHaveLength(1);
    const n = await fx.sql<{ n: string }>(`SELECT count(*) AS n FROM extraction_jobs WHERE document_name = 'race.pdf'`);
    expect(Number(n[0]!.n)).toBe(1);
  });

  test('a duplicate waits for the first request\'s transaction: its answer when it commits, a write of its own when it rolls back', async () => {
    const body = { projectId, documentName: 'held.pdf' };
    const hash = requestHash({ method: 'POST', path: '/api/extraction-jobs', body, ifMatch: null });
    const hold = async (k: string) => {
      const client = await fx.pool.connect();
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE realtime_api`);
      await client.query(`SELECT set_config('app.user_id', $1, true)`, [alice.id]);
      await client.query(`INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)`, [alice.id, k, hash]);
      return client;
    };
    const waiting = async (k: string) => {
      let settled = false;
      const pending = call('POST', '/api/extraction-jobs', body, alice, { 'idempotency-key': k }).finally(() => (settled = true));
      // Until the holder ends, the duplicate waits on the key's row lock.
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      // Wrapped: an async function's result would be the answer itself, awaited.
      return { pending };
    };

    const committed = key();
    const first = await hold(committed);
    const answered = (await waiting(committed)).pending;
    const stored = { id: randomUUID(), documentName: 'held.pdf' };
    await first.query(`UPDATE idempotency_keys SET status = 201, body = $2::jsonb, etag = '"1"', txid = '12345' WHERE key = $1`, [committed, JSON.stringify(stored)]);
    await first.query('COMMIT');
    first.release();
    const replay = await answered;
    expect(answer(replay)).toEqual({ status: 201, body: stored, etag: '"1"', txid: '12345' });
    expect(replay.headers['idempotent-replayed']).toBe('true');

    const rolledBack = key();
    const second = await hold(rolledBack);
    const judged = (await waiting(rolledBack)).pending;
    await second.query('ROLLBACK');
    second.release();
    const own = await judged;
    expect(own.status).toBe(201);
    expect(own.headers['idempotent-replayed']).toBeUndefined();
    expect(await changesOf(own.body.id)).toEqual([{ op: 'INSERT', txid: own.headers['realtime-txid'] }]);
  });

  test('a refused write keeps no key: its retry is judged again', async () => {
    const job = await newJob();
    const k = key();
    const headers = { 'idempotency-key': k };
    // bob is an editor here but not yet of the project about to be made his.
    const other = (await call('POST', '/api/projects', { name: 'Later' })).body.id as string;
    const refused = await call('POST', '/api/extraction-jobs', { projectId: other, documentName: 'later.pdf' }, bob, headers);
    expect(refused.status).toBe(403);
    expect(await fx.sql(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [k])).toEqual([]);
    await fx.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'editor')`, [other, bob.id]);
    const retried = await call('POST', '/api/extraction-jobs', { projectId: other, documentName: 'later.pdf' }, bob, headers);
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    // A stale If-Match refused under a key: the key is free for the rebased request.
    await fx.sql(`UPDATE extraction_jobs SET progress = 3 WHERE id = $1`, [job.id]);
    const k2 = key();
    expect((await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 4 }, alice, { 'idempotency-key': k2, 'if-match': '"1"' })).status).toBe(409);
    expect((await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 4 }, alice, { 'idempotency-key': k2, 'if-match': '"2"' })).status).toBe(200);
  });

  test('keys are per user: another user\'s same key is a request of their own', async () => {
    const k = key();
    const a = await call('POST', '/api/extraction-jobs', { projectId, documentName: 'per-user.pdf' }, alice, { 'idempotency-key': k });
    const b = await call('POST', '/api/extraction-jobs', { projectId, documentName: 'per-user.pdf' }, bob, { 'idempotency-key': k });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(b.body.id).not.toBe(a.body.id);
    // And with another body, not a 422.
    const c = await call('POST', '/api/extraction-jobs', { projectId, documentName: 'per-user-2.pdf' }, viewer, { 'idempotency-key': k });
    expect(c.status).toBe(403);
    const stored = await fx.sql<{ user_id: string }>(`SELECT user_id FROM idempotency_keys WHERE key = $1 ORDER BY user_id`, [k]);
    expect(stored.map((s) => s.user_id).sort()).toEqual([alice.id, bob.id].sort());
  });

  test('another user\'s key gets nobody\'s stored answer: a signed-out caller is refused, an outsider\'s request is judged as theirs', async () => {
    const job = await newJob('guarded.pg');
    const k = key();
    const first = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 7 }, alice, { 'idempotency-key': k, 'if-match': `"${job.version}"` });
    expect(first.status).toBe(200);
    const anonymous = await fx.call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 7 }, null, { 'idempotency-key': k, 'if-match': `"${job.version}"` });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['idempotent-replayed']).toBeUndefined();
    const outsider = await fx.user('outsider-key@example.com');
    const theirs = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 7 }, outsider, { 'idempotency-key': k, 'if-match': `"${job.version}"` });
    expect(theirs.status).toBe(404);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(JSON.stringify(theirs.body)).not.toContain('guarded.pg');
    // The outbox names the session's user as the actor of the one change made.
    const actors = await fx.sql<{ actor: string }>(`SELECT actor FROM change_outbox WHERE row_id = $1 AND op = 'UPDATE'`, [job.id]);
    expect(actors.map((a) => a.actor)).toEqual([alice.email]);
  });

  test('the API role reads and writes only the user\'s own keys, and is not served as a resource', async () => {
    await call('POST', '/api/extraction-jobs', { projectId, documentName: 'rls.pdf' }, alice, { 'idempotency-key': key() });
    await call('POST', '/api/extraction-jobs', { projectId, documentName: 'rls.pdf' }, bob, { 'idempotency-key': key() });
    const client = await fx.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE realtime_api`);
      await client.query(`SELECT set_config('app.user_id', $1, true)`, [alice.id]);
      const { rows } = await client.query<{ user_id: string }>(`SELECT DISTINCT user_id FROM idempotency_keys`);
      expect(rows.map((r) => r.user_id)).toEqual([alice.id]);
      await expect(client.query(`INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, 'forged', 'x')`, [bob.id])).rejects.toThrow(/row-level security/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect((await call('GET', '/api/idempotency-keys')).status).toBe(404);
  });

  test('pruning removes only the keys older than the TTL', async () => {
    const old = key();
    const young = key();
    const job = await newJob();
    await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 7 }, alice, { 'idempotency-key': old });
    await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 8 }, alice, { 'idempotency-key': young });
    await fx.sql(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [old]);
    await fx.sql(`UPDATE idempotency_keys SET created_at = now() - interval '23 hours' WHERE key = $1`, [young]);
    const left = async () => (await fx.sql<{ key: string }>(`SELECT key FROM idempotency_keys WHERE key IN ($1, $2)`, [old, young])).map((r) => r.key);
    expect(await pruneIdempotencyKeys(fx.pool, 48)).toBe(0);
    expect((await left()).sort()).toEqual([old, young].sort());
    expect(await pruneIdempotencyKeys(fx.pool, 24)).toBeGreaterThanOrEqual(1);
    expect(await left()).toEqual([young]);
    // A key pruned is a new request again.
    const again = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 7 }, alice, { 'idempotency-key': old });
    expect(again.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('malformed headers are a 400 that names them', () => {
  test.each([
    ['Idempotency-Key', 'has space'],
    ['Idempotency-Key', 'x'.repeat(201)],
    ['Idempotency-Key', 'ключ'],
    ['If-Match', 'W/"1"'],
    ['If-Match', '"1", "2"'],
    ['If-Match', '"0"'],
    ['If-Match', 'abc'],
    ['If-Match', '"99999999999"'],
  ])('%s: %s', async (name, value) => {
    const job = await newJob();
    const before = await outboxCount();
    const res = await call('PATCH', `/api/extraction-jobs/${job.id}`, { progress: 1 }, alice, { [name.toLowerCase()]: value });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(res.body.error.message).toContain(name);
    expect(await outboxCount()).toBe(before);
  });

  test('on DELETE and POST too', async () => {
    const job = await newJob();
    expect((await call('DELETE', `/api/extraction-jobs/${job.id}`, undefined, alice, { 'if-match': 'nope' })).status).toBe(400);
    expect((await call('DELETE', `/api/extraction-jobs/${job.id}`, undefined, alice, { 'idempotency-key': '' })).status).toBe(400);
    const post = await call('POST', '/api/extraction-jobs', { projectId, documentName: 'h.pdf' }, alice, { 'idempotency-key': 'a/b' });
    expect(post.status).toBe(400);
    expect(post.body.error.message).toMatch(/Idempotency-Key/);
    expect((await call('GET', `/api/extraction-jobs/${job.id}`)).status).toBe(200);
  });
});
