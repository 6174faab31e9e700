// numeric and int8 end to end: a write takes a JSON number or a string, and the value
// keeps its column's own text form on every path a client reads it by: the API's answer
// and reads, the outbox's row images, the live stream and a replay. 10.00 stays "10.00",
// and an int8 beyond 2^53 keeps every digit.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bigint, integer, numeric, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';
import { projects } from '@realtime/db/schema';
import { signUserToken } from '@realtime/auth';
import type { Replicator } from '@realtime/replicator';
import { Received, connect, headSeq, positionAt, secret, startGateway, startReplicator, waitFor, type Client, type GatewayHandle } from '@realtime/gateway/test-helpers';
import { startApi, type ApiFixture, type TestUser } from './fixture';

const amounts = pgTable('test_amounts', {
  id: uuid().primaryKey().defaultRandom(),
  projectId: uuid()
    .notNull()
    .references(() => projects.id, { onDelete: 'cascade' }),
  price: numeric({ precision: 12, scale: 2 }).notNull(),
  ratio: numeric(),
  big: bigint({ mode: 'number' }),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  version: integer().notNull().default(1),
});

const MIGRATION = `
CREATE TABLE "test_amounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL REFERENCES "public"."projects"("id") ON DELETE cascade,
	"price" numeric(12, 2) NOT NULL,
	"ratio" numeric,
	"big" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
SELECT realtime_enable('test_amounts', 'id', 'project_id');
`;

let api: ApiFixture;
let replicator: Replicator;
let gw: GatewayHandle;
let gw2: GatewayHandle | undefined;
let owner: TestUser;
let projectId: string;
const sockets: Client[] = [];

beforeAll(async () => {
  api = await startApi({ migration: MIGRATION, tables: [amounts] });
  replicator = startReplicator(api.db.url);
  await replicator.start();
  gw = await startGateway(api.db.url, { replicator });
  owner = await api.user('owner@amounts.example');
  const created = await api.call('POST', '/api/projects', { name: 'Amounts' }, owner);
  expect(created.status).toBe(201);
  projectId = created.body.id;
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await gw2?.stop();
  await gw?.stop();
  await replicator?.stop();
  await api?.close();
});

async function subscriber(since?: { since: number; fp?: string }, via: GatewayHandle = gw): Promise<Received> {
  const socket = await connect(via.port, signUserToken(secret, owner.id, 900));
  sockets.push(socket);
  const r = new Received(socket);
  expect(await r.subscribe({ channel: 'test_amounts', filter: { projectId }, ...since })).toMatchObject({ ok: true });
  return r;
}

/** A body as raw JSON text: JSON.stringify would print 10.00 as 10 before the API saw it. */
const raw = (json: string) => json.replace('$project', projectId);

describe('numeric and int8 values', () => {
  test('sent as JSON numbers or strings, they read back, stream live and replay in the column text form', async () => {
    const start = await waitFor('every change stamped', async () => {
      const h = await headSeq(api.pool);
      return h >= 0 ? { seq: h } : null;
    });
    const live = await subscriber();

    const asNumber = await api.call('POST', '/api/test-amounts', raw('{"projectId":"$project","price":10.00,"ratio":0.5,"big":42}'), owner);
    expect(asNumber.status).toBe(201);
    expect(asNumber.body).toMatchObject({ price: '10.00', ratio: '0.5', big: '42' });
    const asString = await api.call('POST', '/api/test-amounts', { projectId, price: '10.00', ratio: '1.000000000000000000001', big: '9007199254740993' }, owner);
    expect(asString.status).toBe(201);
    expect(asString.body).toMatchObject({ price: '10.00', ratio: '1.000000000000000000001', big: '9007199254740993' });
    const patched = await api.call('PATCH', `/api/test-amounts/${asNumber.body.id}`, raw('{"price":7.5,"big":"-9223372036854775808"}'), owner);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ price: '7.50', big: '-9223372036854775808' });

    // The API's reads.
    const got = await api.call('GET', `/api/test-amounts/${asString.body.id}`, undefined, owner);
    expect(got.body).toEqual(asString.body);
    const list = await api.call('GET', `/api/test-amounts?projectId=${projectId}`, undefined, owner);
    expect(list.body.items).toEqual(expect.arrayContaining([asString.body, patched.body]));

    // The outbox's row images, parsed as every consumer parses them.
    const images = await api.sql<{ op: string; new_row: Record<string, unknown>; old_row: Record<string, unknown> | null }>(
      `SELECT op, new_row, old_row FROM change_outbox WHERE table_name = 'test_amounts' ORDER BY id`,
    );
    expect(images.map((i) => [i.op, i.new_row.price, i.new_row.big])).toEqual([
      ['INSERT', '10.00', '42'],
      ['INSERT', '10.00', '9007199254740993'],
      ['UPDATE', '7.50', '-9223372036854775808'],
    ]);
    expect(images[2]!.old_row).toMatchObject({ price: '10.00', big: '42' });

    // The live stream: each change's row is what the API answered.
    const streamed = await waitFor('the three changes live', () => (live.changes.length >= 3 ? live.changes : null));
    expect(streamed.map((c) => c.row)).toEqual([asNumber.body, asString.body, patched.body]);
    expect(streamed[2]!.old).toMatchObject({ price: '10.00', big: '42' });

    // A subscriber resuming from before them gets them again by replay, the same: through
    // a gateway started after them, so that the replay reads them from the outbox.
    const queries: string[] = [];
    gw2 = await startGateway(api.db.url, { replicator, onQuery: (q) => void queries.push(q) });
    const replaying = await subscriber(await positionAt(api.pool, start.seq), gw2);
    const replayed = await waitFor('the three changes replayed', () => (replaying.changes.length >= 3 ? replaying.changes : null));
    expect(replayed.map((c) => c.row)).toEqual([asNumber.body, asString.body, patched.body]);
    expect(queries.some((q) => /JOIN change_outbox c ON c.seq = s.seq/.test(q))).toBe(true);
  });

  test.each([
    ['a JSON int8 beyond 2^53', '{"projectId":"$project","price":1,"big":9007199254740993}', /big: beyond ±2\^53 a JSON number has lost digits before it arrives: send it as a string/],
    ['an int8 out of range', '{"projectId":"$project","price":1,"big":"9223372036854775808"}', /big: out of range: an int8 is between -9223372036854775808 and 9223372036854775807/],
    ['an int8 with a fraction', '{"projectId":"$project","price":1,"big":1.5}', /big: must be an integer/],
    ['a numeric string that is no number', '{"projectId":"$project","price":"ten"}', /price: must be a number: a JSON number, or a string holding a number literal such as "10.00"/],
    ['a numeric beyond its precision', '{"projectId":"$project","price":"12345678901"}', /price: out of range: numeric\(12,2\) holds at most 10 digits before the point/],
    ['a missing numeric', '{"projectId":"$project"}', /price: required/],
    ['a null numeric that is NOT NULL', '{"projectId":"$project","price":null}', /price: must be a number/],
  ])('%s is refused naming the column', async (_what, body, message) => {
    const res = await api.call('POST', '/api/test-amounts', raw(body), owner);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
  });
});
