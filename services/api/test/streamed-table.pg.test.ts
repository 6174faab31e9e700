// Streaming another table, exactly as the README's checklist says: a drizzle table (here
// defined by the test, as db/src/schema/app.ts would export it), the migration drizzle-kit
// generates for it, and the one custom line `SELECT realtime_enable(...)`. No code edit:
// the API serves /api/test-invoices and the gateway the channel `test_invoices`, a camelCase filter
// works, rows are equal on both paths whatever TimeZone the writer had, grants come
// from the catalog's project column, and its `version` column gets its trigger (ETag, If-Match).
// The table is test_invoices, not invoices: a clone that follows the checklist for real
// has an invoices table of its own, and this test must still pass there.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bigint, integer, numeric, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';
import { loadStreamedTables, shapeRow, type JsonRow } from '@realtime/db';
import { projects } from '@realtime/db/schema';
import { signUserToken } from '@realtime/auth';
import type { Replicator } from '@realtime/replicator';
import { Received, connect, secret, startGateway, startReplicator, waitFor, type Client, type GatewayHandle } from '@realtime/gateway/test-helpers';
import { startApi, type ApiFixture, type TestUser } from './fixture';

/** What the checklist's first step adds to db/src/schema/app.ts. */
const invoices = pgTable('test_invoices', {
  id: uuid().primaryKey().defaultRandom(),
  projectId: uuid()
    .notNull()
    .references(() => projects.id, { onDelete: 'cascade' }),
  amount: numeric({ precision: 12, scale: 2 }).notNull(),
  number: bigint({ mode: 'number' }).notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  version: integer().notNull().default(1),
});

/** `npm run db:generate -- --name invoices` for that table, then the custom migration's one line. */
const MIGRATION = `
CREATE TABLE "test_invoices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"amount" numeric(12, 2) NOT NULL,
	"number" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "test_invoices" ADD CONSTRAINT "test_invoices_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
SELECT realtime_enable('test_invoices', 'id', 'project_id');
`;

let api: ApiFixture;
let replicator: Replicator;
let gw: GatewayHandle;
let owner: TestUser;
let outsider: TestUser;
let projectId: string;
const sockets: Client[] = [];

beforeAll(async () => {
  api = await startApi({ migration: MIGRATION, tables: [invoices] });
  replicator = startReplicator(api.db.url);
  await replicator.start();
  gw = await startGateway(api.db.url, { replicator });
  owner = await api.user('owner@invoices.example');
  outsider = await api.user('outsider@invoices.example');
  const created = await api.call('POST', '/api/projects', { name: 'Billing' }, owner);
  expect(created.status).toBe(201);
  projectId = created.body.id;
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await gw?.stop();
  await replicator?.stop();
  await api?.close();
});

async function subscriber(user: TestUser, filter?: Record<string, string>): Promise<Received> {
  const socket = await connect(gw.port, signUserToken(secret, user.id, 900));
  sockets.push(socket);
  const r = new Received(socket);
  const ack = await r.subscribe({ channel: 'test_invoices', ...(filter ? { filter } : {}) });
  expect(ack).toMatchObject({ ok: true });
  return r;
}

/** A write from a session of its own, in the given time zone (to_jsonb in the trigger prints its offset). */
async function insertAs(timeZone: string, amount: string, number: string): Promise<string> {
  const c = new pg.Client({ connectionString: api.db.url });
  await c.connect();
  try {
    await c.query(`SET TimeZone = '${timeZone}'`);
    const { rows } = await c.query<{ id: string }>(`INSERT INTO test_invoices (project_id, amount, number) VALUES ($1, $2, $3) RETURNING id`, [projectId, amount, number]);
    return rows[0]!.id;
  } finally {
    await c.end();
  }
}

describe('a table declared by its schema and one migration line', () => {
  test('the API serves it, its list narrows by its foreign key, and the policies realtime_enable installed hold', async () => {
    const made = await api.call('POST', '/api/test-invoices', { projectId, amount: '10.00', number: 1 }, owner);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ projectId, amount: '10.00', number: '1' });
    const list = await api.call('GET', `/api/test-invoices?projectId=${projectId}`, undefined, owner);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([made.body]);
    expect((await api.call('GET', `/api/test-invoices/${made.body.id}`, undefined, outsider)).status).toBe(404);
    expect((await api.call('POST', '/api/test-invoices', { projectId, amount: '1', number: 2 }, outsider)).status).toBe(403);
    expect((await api.call('GET', `/api/test-invoices?ownerId=${projectId}`, undefined, owner)).status).toBe(400);
  });

  test('its version column got the trigger from the same line: ETag, If-Match, a 409 after any writer', async () => {
    const made = await api.call('POST', '/api/test-invoices', { projectId, amount: '3', number: 4 }, owner);
    expect(made.headers.etag).toBe('"1"');
    await api.sql(`UPDATE test_invoices SET amount = 4 WHERE id = $1`, [made.body.id]);
    const stale = await api.call('PATCH', `/api/test-invoices/${made.body.id}`, { amount: '5' }, owner, { 'if-match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.body.error.current).toMatchObject({ amount: '4.00', version: 2 });
    const ok = await api.call('PATCH', `/api/test-invoices/${made.body.id}`, { amount: '5' }, owner, { 'if-match': stale.headers.etag as string });
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).toBe('"3"');
  });

  test('a camelCase filter receives an insert written in another time zone, equal to what the API returns for it', async () => {
    const member = await subscriber(owner, { projectId });
    const stranger = await subscriber(outsider);
    // numeric and int8 in their own text form on both paths: the zeros of 1234.50 and every digit beyond 2^53.
    const id = await insertAs('America/Los_Angeles', '1234.50', '9007199254740993');
    const change = await waitFor('the insert on the socket', () => member.changes.find((c) => c.row?.id === id));
    expect(change.op).toBe('INSERT');

    const fetched = await api.call('GET', `/api/test-invoices/${id}`, undefined, owner);
    expect(fetched.status).toBe(200);
    expect(change.row).toEqual(fetched.body);
    expect(change.row).toMatchObject({ projectId, amount: '1234.50', number: '9007199254740993' });
    expect(String(change.row!.createdAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // The same row read from a UTC session and shaped by the one function.
    const table = (await loadStreamedTables(api.pool)).get('test_invoices')!;
    const { rows } = await api.pool.query<{ row: JsonRow }>(`SELECT realtime_row_json(i) AS row FROM test_invoices i WHERE id = $1`, [id]);
    expect(shapeRow(table, rows[0]!.row)).toEqual(change.row);

    // A row written through the API arrives as the API answered it, update included.
    const posted = await api.call('POST', '/api/test-invoices', { projectId, amount: '7.25', number: 3 }, owner);
    const streamed = await waitFor('the API insert on the socket', () => member.changes.find((c) => c.row?.id === posted.body.id));
    expect(streamed.row).toEqual(posted.body);
    const patched = await api.call('PATCH', `/api/test-invoices/${posted.body.id}`, { amount: '8' }, owner);
    expect(patched.status).toBe(200);
    const update = await waitFor('the update on the socket', () => member.changes.find((c) => c.op === 'UPDATE' && c.row?.id === posted.body.id));
    expect(update.row).toEqual(patched.body);

    // Not a member: the grant (by the catalog's project column) lets nothing through. The
    // changes went to both sockets in the same dispatch; a moment more for a stray one.
    await new Promise((r) => setTimeout(r, 300));
    expect(stranger.changes).toEqual([]);
    const other = await connect(gw.port, signUserToken(secret, outsider.id, 900));
    sockets.push(other);
    const refused = await other.timeout(5000).emitWithAck('subscribe', { channel: 'test_invoices', filter: { projectId } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });
});
