// @vitest-environment happy-dom
// useLiveQuery against the real thing: `npm start`'s process (API, gateway, replicator)
// on a throwaway database, a client made by createRealtime with a service token, and
// rows written with SQL as any client of the database may write them, primary key
// changes included. The cache must end equal to the table, with one setQueryData per
// delivered batch. No JSX: the pg project's files are *.pg.test.ts.
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type pg from 'pg';
import { createRealtime, type RealtimeClient } from '@realtime/client';
import { RealtimeProvider, useLiveQuery } from '../src/index.js';
import { startServer, type RealServer } from './server';

interface Layer {
  id: string;
  name: string;
  projectId: string;
}

let real: RealServer;
let pool: pg.Pool;
let base = '';
let project = '';
let other = '';
const until: RealServer['until'] = (...args) => real.until(...args);
const serviceToken = () => real.serviceToken();

beforeAll(async () => {
  real = await startServer({ secret: 'react-pg-test-secret-0123456789abcdef0123456789' });
  ({ pool, base } = real);
  const made = await Promise.all(['mine', 'other'].map(async (name) => (await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name])).rows[0]!.id));
  project = made[0]!;
  other = made[1]!;
  await pool.query(`INSERT INTO data_layers (project_id, name, kind, source) SELECT $1, 'seed' || i, 'vector', 's' FROM generate_series(1, 5) i`, [project]);
});

afterAll(async () => {
  await real?.stop();
});

const table = async (): Promise<Layer[]> =>
  (await pool.query<Layer>(`SELECT id, name, project_id AS "projectId" FROM data_layers WHERE project_id = $1 ORDER BY id`, [project])).rows;
const shape = (rows: readonly Layer[]) => [...rows].map((r) => ({ id: r.id, name: r.name, projectId: r.projectId })).sort((a, b) => a.id.localeCompare(b.id));

test('a plain-array useLiveQuery follows SQL writes, primary key changes and a dropped connection, one setQueryData per batch', async () => {
  const token = await serviceToken();
  const client: RealtimeClient = createRealtime({ url: base, getToken: async () => ({ token, expiresAt: Date.now() + 3600_000 }) });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const key = ['layers', project];
  let fetches = 0;
  const queryFn = async (): Promise<Layer[]> => {
    fetches++;
    return table();
  };
  function Live() {
    useLiveQuery<Layer>({ channel: 'data_layers', queryKey: key, queryFn, filter: { projectId: project } });
    return null;
  }
  const root: Root = createRoot(document.createElement('div'));
  root.render(createElement(QueryClientProvider, { client: qc }, createElement(RealtimeProvider, { client }, createElement(Live))));
  try {
    // Live, and the list read again once the subscription stood (a plain array has no cursor).
    await until('the subscription to be live and the list read again', () => client.connection.status === 'live' && fetches >= 2 && !qc.isFetching());
    expect(shape(qc.getQueryData<Layer[]>(key)!)).toEqual(shape(await table()));

    let batches = 0;
    client.on('batch', () => batches++);
    const set = vi.spyOn(qc, 'setQueryData');
    const cacheEqualsTable = async () => JSON.stringify(shape(qc.getQueryData<Layer[]>(key) ?? [])) === JSON.stringify(shape(await table()));

    const [first, second] = (await table()).map((r) => r.id);
    await pool.query(`INSERT INTO data_layers (project_id, name, kind, source) SELECT $1, 'new' || i, 'raster', 's' FROM generate_series(1, 4) i`, [project]);
    await pool.query(`UPDATE data_layers SET name = name || '!' WHERE project_id = $1`, [project]);
    // The primary key itself, changed with SQL.
    const { rows: rekeyed } = await pool.query<{ id: string }>(`UPDATE data_layers SET id = gen_random_uuid() WHERE id = $1 RETURNING id`, [first]);
    await pool.query(`DELETE FROM data_layers WHERE id = $1`, [second]);
    // Elsewhere: must not show up.
    await pool.query(`INSERT INTO data_layers (project_id, name, kind, source) VALUES ($1, 'not mine', 'table', 's')`, [other]);
    await until('the cache to equal the table', cacheEqualsTable);
    const ids = qc.getQueryData<Layer[]>(key)!.map((r) => r.id);
    expect(ids).not.toContain(first);
    expect(ids).toContain(rekeyed[0]!.id);
    expect(ids).not.toContain(second);

    // A dropped connection with writes meanwhile (a primary key change among them): resumed from the last seq.
    client.dropFor(300);
    const { rows: [third] } = await pool.query<{ id: string }>(`SELECT id FROM data_layers WHERE project_id = $1 ORDER BY id LIMIT 1`, [project]);
    await pool.query(`BEGIN; UPDATE data_layers SET id = gen_random_uuid(), name = 'moved key' WHERE id = '${third!.id}'; INSERT INTO data_layers (project_id, name, kind, source) VALUES ('${project}', 'while away', 'vector', 's'); COMMIT;`);
    await until('the cache to equal the table after the reconnect', async () => client.connection.status === 'live' && (await cacheEqualsTable()));
    expect(qc.getQueryData<Layer[]>(key)!.map((r) => r.id)).not.toContain(third!.id);

    expect(batches).toBeGreaterThan(0);
    // One cache write per delivered batch, not per change.
    expect(set).toHaveBeenCalledTimes(batches);
  } finally {
    root.unmount();
    client.stop();
  }
});
