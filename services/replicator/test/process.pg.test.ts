// The replicator as users run it: its own process, /healthz and /status over HTTP, a
// clear error for bad configuration, and a clean exit on SIGTERM.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { spawnReplicator, stateOf, waitFor, type Child } from './helpers';

let db: TestDatabase;
let pool: pg.Pool;
const children: Child[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  for (const c of children) c.proc.kill('SIGKILL');
  await pool.end();
  await db.drop();
});

test('/healthz answers 200 with the mode, /status reports process and database, SIGTERM exits 0', async () => {
  const child = spawnReplicator(db.url);
  children.push(child);
  const port = await waitFor('the HTTP port', async () => /Health: http:\/\/localhost:(\d+)\/healthz/.exec(child.output())?.[1]);
  const health = await waitFor('healthy', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return res.status === 200 ? res.json() : null;
  });
  expect(health).toEqual({ status: 'ok', mode: 'wal', role: 'leader' });
  await pool.query(`INSERT INTO projects (name) VALUES ('seen')`);
  const status = await waitFor('the status to show the stamp', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { process: { headSeq: number }; database: { headSeq: number; backlog: number; mode: string } };
    return s.process.headSeq === 1 && s.database.backlog === 0 ? s : null;
  });
  expect(status.database).toMatchObject({ mode: 'wal', headSeq: 1, backlog: 0, notifyEnabled: false });
  child.proc.kill('SIGTERM');
  expect(await child.exited).toBe(0);
  expect(await stateOf(pool)).toMatchObject({ mode: 'down', leader: null });
});

test('a bad setting stops the process at once with the variable named', async () => {
  const child = spawnReplicator(db.url, { STAMP_BATCH_SIZE: 'many' });
  children.push(child);
  expect(await child.exited).toBe(1);
  expect(child.output()).toMatch(/STAMP_BATCH_SIZE/);
  expect(child.output()).not.toMatch(/\n\s+at /); // no stack trace
});

test('an unreachable database is reported with the fix, not a stack trace', async () => {
  const child = spawnReplicator('postgres://postgres:postgres@127.0.0.1:1/nowhere');
  children.push(child);
  expect(await child.exited).toBe(1);
  expect(child.output()).toMatch(/error: Cannot connect to postgres:\/\/postgres:\*\*\*@127.0.0.1:1\/nowhere .*ECONNREFUSED.*Check DATABASE_URL/);
});
