// The storm clients of `npm run bench -- scale` against a real gateway (the bench's own,
// startOurs): subscribed, each subscription at a position once a change reached it, then
// every socket anew with its positions: each subscription replays exactly what it missed
// and goes live.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor } from '@realtime/testkit';
import { startOurs, type Running } from '../src/servers';
import type { StormCommand, StormResult } from '../src/storm-client';

const here = path.dirname(fileURLToPath(import.meta.url));
let ours: Running;

beforeAll(async () => {
  ours = await startOurs();
  // Its cluster stops under the pool's idle connections: their errors are expected then.
  ours.pool.on('error', () => undefined);
}, 120_000);
afterAll(async () => {
  await ours?.stop();
});

test('subscriptions at their positions resume on a gateway, each replaying what it missed', async () => {
  const { rows } = await ours.pool.query<{ id: string }>(`INSERT INTO projects (name) SELECT 'storm ' || g FROM generate_series(1, 2) g RETURNING id`);
  const projects = rows.map((r) => r.id);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '..', 'src', 'storm-client.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const send = (c: StormCommand) => child.stdin.write(`${JSON.stringify(c)}\n`);
  const line = (match: (l: string) => boolean, what: string) =>
    waitFor(
      () => {
        if (out.includes('error ')) throw new Error(out);
        return out.split('\n').find(match);
      },
      { what, timeoutMs: 60_000 },
    );
  try {
    send({ start: { port: ours.port, token: ours.token, channel: 'extraction_jobs', projects, sockets: 5 } });
    await line((l) => l === 'ready', 'every subscription acknowledged');
    await ours.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT p, 'prime.pdf' FROM unnest($1::uuid[]) p`, [projects]);
    await line((l) => l === 'primed', 'a position for each subscription');
    send({ drop: true });
    await line((l) => l === 'dropped', 'every socket closed');
    // Missed: three changes of each project, and some of another that no subscription takes.
    for (const p of projects) await ours.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'missed.pdf' FROM generate_series(1, 3)`, [p]);
    const { rows: other } = await ours.pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('other') RETURNING id`);
    await ours.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'other.pdf' FROM generate_series(1, 4)`, [other[0]!.id]);
    // Stamped and fed before the resume, as the bench waits for gateway B to have them.
    await waitFor(
      async () => {
        const { rows: r } = await ours.pool.query<{ head: string | null; unstamped: string }>(`SELECT max(seq) AS head, count(*) FILTER (WHERE seq IS NULL) AS unstamped FROM change_outbox`);
        return r[0]!.unstamped === '0' && ours.position() >= Number(r[0]!.head);
      },
      { what: 'the missed changes stamped and fed', timeoutMs: 60_000 },
    );
    send({ resume: { port: ours.port, limitMs: 30_000 } });
    const result = JSON.parse((await line((l) => l.startsWith('{'), 'the result'))!) as StormResult;
    expect(result, JSON.stringify(result)).toMatchObject({ subscriptions: 10, live: 10, resyncs: 0, refused: 0, why: {}, replayed: { min: 3, mean: 3, max: 3 } });
  } finally {
    child.kill('SIGTERM');
  }
}, 120_000);
