// What the history-identity tests share: a deployment (replicator and gateway) on a
// database, writes, a client following the stream, a resume and its two outcomes (a
// resync for history-changed with nothing replayed, or a replay equal to the outbox),
// and a restore from a dump as pg_dump and pg_restore would do it.
import type pg from 'pg';
import { expect } from 'vitest';
import type { SubscribeRequest } from '@realtime/protocol';
import type { Replicator } from '@realtime/replicator';
import { Received, connect, expectedSeqs, headSeq, startGateway, startReplicator, token, waitFor, type GatewayHandle } from './helpers';

/** A replicator and a gateway on `url`: what a deployment runs on it. */
export interface Running {
  replicator: Replicator;
  gw: GatewayHandle;
  stop(): Promise<void>;
}

export async function serve(url: string, cleanups: (() => Promise<void>)[]): Promise<Running> {
  const replicator = startReplicator(url);
  await replicator.start();
  const gw = await startGateway(url, { replicator });
  let stopped = false;
  const running = {
    replicator,
    gw,
    async stop() {
      if (stopped) return;
      stopped = true;
      await gw.stop();
      await replicator.stop();
    },
  };
  cleanups.push(() => running.stop());
  return running;
}

/** `n` projects, one transaction each. */
export async function write(pool: pg.Pool, n: number, name: string): Promise<void> {
  for (let i = 0; i < n; i++) await pool.query(`INSERT INTO projects (name) VALUES ($1)`, [`${name}${i}`]);
}

/** Every change stamped and handed on by the gateway's feed: the head. */
export const settled = (pool: pg.Pool, gw: GatewayHandle) =>
  waitFor('every change stamped and fed', async () => {
    const h = await headSeq(pool);
    return h > 0 && gw.feed.position === h ? h : null;
  });

/** A client following `projects` from the start, until it holds `head`. */
export async function follower(gw: GatewayHandle, head: number): Promise<Received> {
  const r = new Received(await connect(gw.port, token()));
  expect(await r.subscribe({ channel: 'projects', since: 0 })).toMatchObject({ ok: true });
  await waitFor(`the follower to reach ${head}`, () => r.lastSeq === head);
  return r;
}

export const FP = /^[A-Za-z0-9_-]{12}$/;

export const at = (r: Received, i: number) => {
  const c = r.changes[i]!;
  expect(c.fp).toMatch(FP);
  return { since: c.seq, fp: c.fp! };
};

/** Subscribes with `req` and waits for the outcome (live or resync), then a little more. */
export async function resume(gw: GatewayHandle, req: Omit<SubscribeRequest, 'channel'>): Promise<Received> {
  const r = new Received(await connect(gw.port, token()));
  expect(await r.subscribe({ channel: 'projects', ...req })).toMatchObject({ ok: true });
  await waitFor('live or resync', () => r.lives.length > 0 || r.resyncs.length > 0);
  await new Promise((res) => setTimeout(res, 300));
  r.socket.disconnect();
  return r;
}

export function expectHistoryChanged(r: Received): void {
  expect(r.resyncs.map((e) => e.reason)).toEqual(['history-changed']);
  // Never a replay: nothing of the new history on top of the old cache.
  expect(r.changes).toEqual([]);
  expect(r.lives).toEqual([]);
}

export async function expectReplayFrom(r: Received, pool: pg.Pool, since: number): Promise<void> {
  expect(r.resyncs).toEqual([]);
  expect(r.lives).toHaveLength(1);
  expect(r.seqs).toEqual((await expectedSeqs(pool, 'projects')).filter((s) => s > since));
}

/** As the superuser, with the outbox's and the tables' triggers off (what a restore or a hand edit does). */
export async function asRestorer<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query(`SET session_replication_role = replica`);
    return await fn(c);
  } finally {
    await c.query(`RESET session_replication_role`).catch(() => undefined);
    c.release();
  }
}

const TABLES_SQL = `SELECT c.relname AS name,
    array_agg(quote_ident(a.attname) ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '') AS columns
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  GROUP BY c.relname`;

/**
 * pg_dump emulated in SQL (the embedded server has no pg_dump of its version): every table
 * of schema public (the app's, the identity tables, change_outbox, realtime_state) and
 * every sequence's position, copied in one REPEATABLE READ snapshot into `schema`.
 */
export async function dump(pool: pg.Pool, schema: string): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await c.query(`CREATE SCHEMA ${schema}`);
    const { rows } = await c.query<{ name: string }>(TABLES_SQL);
    for (const t of rows) await c.query(`CREATE TABLE ${schema}.${c.escapeIdentifier(t.name)} AS SELECT * FROM public.${c.escapeIdentifier(t.name)}`);
    await c.query(`CREATE TABLE ${schema}.sequences (name text, last_value bigint, is_called boolean)`);
    const seqs = await c.query<{ name: string }>(`SELECT quote_ident(sequencename) AS name FROM pg_sequences WHERE schemaname = 'public'`);
    for (const s of seqs.rows) await c.query(`INSERT INTO ${schema}.sequences SELECT $1, last_value, is_called FROM public.${s.name}`, [s.name]);
    await c.query('COMMIT');
  } finally {
    c.release();
  }
}

/**
 * The dump restored over the database: every table's rows replaced by the dumped ones
 * (triggers off, as pg_restore's data load; TRUNCATE of a streamed table is refused),
 * every sequence (the outbox's id among them) set back. The replication slot goes too:
 * a database restored from a dump has none, and the replicator makes it again.
 */
export async function restore(pool: pg.Pool, schema: string): Promise<void> {
  await waitFor('the slot released', async () => (await pool.query(`SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = current_database() AND active`)).rows[0].n === 0);
  await pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()`);
  await asRestorer(pool, async (c) => {
    await c.query('BEGIN');
    const { rows } = await c.query<{ name: string; columns: string[] }>(TABLES_SQL);
    for (const t of rows) await c.query(`DELETE FROM public.${c.escapeIdentifier(t.name)}`);
    for (const t of rows) {
      const cols = t.columns.join(', ');
      await c.query(`INSERT INTO public.${c.escapeIdentifier(t.name)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${schema}.${c.escapeIdentifier(t.name)}`);
    }
    const seqs = await c.query<{ name: string; last_value: string | null; is_called: boolean }>(`SELECT name, last_value, is_called FROM ${schema}.sequences`);
    for (const s of seqs.rows) if (s.last_value !== null) await c.query(`SELECT setval($1, $2, $3)`, [`public.${s.name}`, s.last_value, s.is_called]);
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.query('COMMIT');
  });
}
