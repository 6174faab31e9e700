// The demo simulator on a real database: ticks move jobs through queued, processing and
// completed with results and supplier matches, as actor "simulator", and stay bounded.
import { beforeAll, expect, test } from 'vitest';
import { drizzle } from 'drizzle-orm/node-postgres';
import { seedIfEmpty } from '@realtime/db';
import { createLogger } from '@realtime/runtime';
import { useTestDatabase } from '@realtime/db/testing';
import { Simulator } from '../src/simulator';

const fx = useTestDatabase();
beforeAll(async () => {
  await seedIfEmpty(fx.db.url, createLogger('silent'));
});

test('ticks move jobs through their states, write results, and record the simulator as actor', async () => {
  // A fixed sequence instead of Math.random, so the run is the same every time.
  let i = 0;
  const random = () => [0.05, 0.5, 0.3, 0.95, 0.2][i++ % 5]!;
  const sim = new Simulator({ db: drizzle({ client: fx.pool, casing: 'snake_case' }), log: createLogger('silent'), intervalMs: 1000, random });
  const before = (await fx.pool.query(`SELECT max(id)::int AS id FROM change_outbox`)).rows[0].id as number;
  const kinds = new Set<string>();
  for (let t = 0; t < 80; t++) for (const a of await sim.tick()) kinds.add(a.kind);
  expect([...kinds].sort()).toEqual(expect.arrayContaining(['advance', 'complete', 'create', 'start']));

  const { rows: statuses } = await fx.pool.query(`SELECT status, count(*)::int AS n FROM extraction_jobs GROUP BY status`);
  expect(statuses.map((r) => r.status)).toEqual(expect.arrayContaining(['completed']));
  const { rows: results } = await fx.pool.query(`SELECT count(*)::int AS n FROM extraction_results r JOIN extraction_jobs j ON j.id = r.job_id WHERE j.status = 'completed'`);
  expect(results[0].n).toBeGreaterThan(0);
  const { rows: actors } = await fx.pool.query(`SELECT DISTINCT actor FROM change_outbox WHERE id > $1`, [before]);
  expect(actors).toEqual([{ actor: 'simulator' }]);
  // Bounded: per project at most the kept finished jobs plus the active ones.
  const { rows: perProject } = await fx.pool.query(`SELECT max(n)::int AS n FROM (SELECT count(*) AS n FROM extraction_jobs WHERE status IN ('completed', 'failed') GROUP BY project_id) s`);
  expect(perProject[0].n).toBeLessThanOrEqual(6 + 1);
});
