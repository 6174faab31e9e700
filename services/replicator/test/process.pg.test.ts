// The replicator as users run it: its own process, /healthz and /status over HTTP, a
// clear error for bad configuration, and a clean exit on SIGTERM.
import { expect, test } from 'vitest';
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
