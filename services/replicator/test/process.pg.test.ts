// The replicator as users run it: its own process, /healthz and /status over HTTP, a
// clear error for bad configuration, and a clean exit on SIGTERM; as its own login role,
// also with no owner URL at all once the owner has migrated.
import { expect, test } from 'vitest';
import { runMigrations } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { testLoginEnv } from '@realtime/db/testing';
import { stateOf, useDatabase, waitFor, spawnReplicator } from './helpers';

const fx = useDatabase();

const METRICS_TOKEN = 'replicator-metrics-token-0123';

test('/healthz answers 200 and nothing more, /status (with the metrics token) reports process and database, SIGTERM exits 0', async () => {
  const child = fx.spawn({ METRICS_TOKEN });
  const port = await waitFor('the HTTP port', async () => /Health: http:\/\/localhost:(\d+)\/healthz/.exec(child.output())?.[1]);
  const health = await waitFor('healthy', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return res.status === 200 ? res.json() : null;
  });
  expect(health).toEqual({ status: 'ok' });
  expect((await fetch(`http://127.0.0.1:${port}/status`)).status).toBe(401);
  expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
  expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  await fx.pool.query(`INSERT INTO projects (name) VALUES ('seen')`);
  const status = await waitFor('the status to show the stamp', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${port}/status`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).json()) as { process: { headSeq: number }; database: { headSeq: number; backlog: number; mode: string } };
    return s.process.headSeq === 1 && s.database.backlog === 0 ? s : null;
  });
  expect(status.database).toMatchObject({ mode: 'wal', headSeq: 1, backlog: 0, notifyEnabled: false });
  // It streams the WAL as its login role, which is no superuser.
  const { rows } = await fx.pool.query(
    `SELECT DISTINCT a.usename, r.rolsuper FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename WHERE a.datname = current_database() AND a.application_name LIKE 'realtime-replicator%'`,
  );
  expect(rows).toEqual([{ usename: `rt_replicator_${fx.db.name}`, rolsuper: false }]);
  child.proc.kill('SIGTERM');
  expect(await child.exited).toBe(0);
  expect(await stateOf(fx.pool)).toMatchObject({ mode: 'down', leader: null });
});

test('a bad setting stops the process at once with the variable named', async () => {
  const child = fx.spawn({ STAMP_BATCH_SIZE: 'many' });
  expect(await child.exited).toBe(1);
  expect(child.output()).toMatch(/STAMP_BATCH_SIZE/);
  expect(child.output()).not.toMatch(/\n\s+at /); // no stack trace
});

test('an unreachable database is reported with the fix, not a stack trace', async () => {
  const child = spawnReplicator('postgres://postgres:postgres@127.0.0.1:1/nowhere');
  fx.track(child);
  expect(await child.exited).toBe(1);
  expect(child.output()).toMatch(/error: Cannot connect to postgres:\/\/postgres:\*\*\*@127.0.0.1:1\/nowhere .*ECONNREFUSED.*Check DATABASE_URL/);
});

test('with only DATABASE_URL_REPLICATOR (the owner migrated apart), it stamps as its login role alone', async () => {
  const login = testLoginEnv(fx.db.url, ['replicator']).DATABASE_URL_REPLICATOR!;
  const url = new URL(login);
  await runMigrations(fx.db.url, createLogger('silent'), { roles: [{ service: 'replicator', user: url.username, password: url.password }] });
  // An empty DATABASE_URL counts as unset.
  const child = fx.spawn({ DATABASE_URL: '', DATABASE_URL_REPLICATOR: login, METRICS_TOKEN });
  await fx.pool.query(`INSERT INTO projects (name) VALUES ('without the owner')`);
  await waitFor('the stamp', async () => (await fx.pool.query(`SELECT 1 FROM change_outbox WHERE row_id IN (SELECT id::text FROM projects WHERE name = 'without the owner') AND seq IS NOT NULL`)).rowCount);
  const { rows } = await fx.pool.query(`SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'realtime-%' AND usename <> current_user`);
  expect(rows).toEqual([{ usename: url.username }]);
  expect(child.output()).not.toMatch(/connects to Postgres as/);
  child.proc.kill('SIGTERM');
  expect(await child.exited).toBe(0);
});
