// A table the app schema exports that the API cannot serve is named at start with its
// fix, and where its routes would be a request learns the same, instead of a bare "no
// route" (never enabled) or routes whose every answer is 403 (rows of no project: no
// member's role grants them). The stream agrees: a never-enabled table is no channel, and
// a user may not subscribe to a table of no project.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { integer, numeric, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { projects } from '@realtime/db/schema';
import { signUserToken } from '@realtime/auth';
import type { Replicator } from '@realtime/replicator';
import { connect, secret, startGateway, startReplicator, type Client, type GatewayHandle } from '@realtime/gateway/test-helpers';
import { startApi, type ApiFixture, type TestUser } from './fixture';

/** Exported by the schema, with a project column, but no migration called realtime_enable for it. */
const notes = pgTable('test_unstreamed_notes', {
  id: uuid().primaryKey().defaultRandom(),
  projectId: uuid()
    .notNull()
    .references(() => projects.id, { onDelete: 'cascade' }),
  body: text().notNull(),
});

/** Enabled, but its rows belong to no project. */
const settings = pgTable('test_global_settings', {
  key: text().primaryKey(),
  value: text().notNull(),
  version: integer().notNull().default(1),
});

/** Served, but a numeric column came after its declaration. */
const late = pgTable('test_late_amounts', {
  id: uuid().primaryKey().defaultRandom(),
  projectId: uuid()
    .notNull()
    .references(() => projects.id, { onDelete: 'cascade' }),
  total: numeric({ precision: 12, scale: 2 }),
});

const MIGRATION = `
CREATE TABLE "test_unstreamed_notes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL REFERENCES "public"."projects"("id") ON DELETE cascade,
	"body" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "test_global_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
SELECT realtime_enable('test_global_settings', 'key');
--> statement-breakpoint
CREATE TABLE "test_late_amounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL REFERENCES "public"."projects"("id") ON DELETE cascade
);
--> statement-breakpoint
SELECT realtime_enable('test_late_amounts', 'id', 'project_id');
--> statement-breakpoint
ALTER TABLE "test_late_amounts" ADD COLUMN "total" numeric(12, 2);
`;

interface LogLine {
  level: number;
  msg: string;
  tables?: { table: string; reason: string; fix: string }[];
}

const lines: LogLine[] = [];
let api: ApiFixture;
let replicator: Replicator;
let gw: GatewayHandle;
let user: TestUser;
const sockets: Client[] = [];

beforeAll(async () => {
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  api = await startApi({ migration: MIGRATION, tables: [notes, settings, late], log });
  user = await api.user('dev@unserved.example');
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await gw?.stop();
  await replicator?.stop();
  await api?.close();
});

describe('tables the API does not serve', () => {
  test('are named at start, in one warning, each with its fix', () => {
    const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('the API does not serve'));
    expect(warnings).toHaveLength(1);
    const [warning] = warnings;
    expect(warning!.tables!.map((t) => [t.table, t.reason])).toEqual([
      ['test_unstreamed_notes', 'not-streamed'],
      ['test_global_settings', 'no-project'],
    ]);
    expect(warning!.msg).toContain(`test_unstreamed_notes (its changes are not captured: add SELECT realtime_enable('test_unstreamed_notes', 'id', 'project_id'); to a migration`);
    expect(warning!.msg).toMatch(/test_global_settings \(its rows belong to no project.*project_id uuid column REFERENCES projects\(id\).*SELECT realtime_enable\('test_global_settings', 'key', 'project_id'\);/);
    // The app's own tables are all served.
    expect(warning!.msg).not.toMatch(/extraction_jobs|projects \(/);
  });

  test('a numeric column added after its table was declared is named with the fix', async () => {
    const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('captured as JSON numbers'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain(`test_late_amounts (total): add SELECT realtime_enable('test_late_amounts', 'id', 'project_id'); to a migration`);
    // Until then the outbox records a JSON number; shaped by its column's scale, the API's
    // answer and the stream's row still agree (digits beyond a double's would not survive).
    const owner = await api.user('owner@late.example');
    const project = await api.call('POST', '/api/projects', { name: 'Late' }, owner);
    const made = await api.call('POST', '/api/test-late-amounts', { projectId: project.body.id, total: '10.00' }, owner);
    expect(made.status).toBe(201);
    expect(made.body.total).toBe('10.00');
    const [image] = await api.sql<{ new_row: { total: unknown } }>(`SELECT new_row FROM change_outbox WHERE table_name = 'test_late_amounts'`);
    expect(image!.new_row.total).toBe(10);
  });

  test.each([
    ['GET', '/api/test-unstreamed-notes', /table test_unstreamed_notes: its changes are not captured: add SELECT realtime_enable\('test_unstreamed_notes', 'id', 'project_id'\);/],
    ['POST', '/api/test-unstreamed-notes', /test_unstreamed_notes: its changes are not captured/],
    ['GET', '/api/test-unstreamed-notes/00000000-0000-0000-0000-000000000001', /test_unstreamed_notes: its changes are not captured/],
    ['GET', '/api/test-global-settings', /table test_global_settings: its rows belong to no project, so no member's role grants them: give it a project_id uuid column/],
    ['PATCH', '/api/test-global-settings/theme', /test_global_settings: its rows belong to no project/],
    ['DELETE', '/api/test-global-settings/theme', /test_global_settings: its rows belong to no project/],
  ] as const)('%s %s answers 404 naming the table and the fix', async (method, url, message) => {
    const res = await api.call(method, url, method === 'POST' || method === 'PATCH' ? { body: 'x' } : undefined, user);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(res.body.error.message).toMatch(message);
  });

  test('a path no table would have is still a plain 404', async () => {
    const res = await api.call('GET', '/api/test-no-such-table', undefined, user);
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toMatch(/realtime_enable/);
  });

  test('the stream agrees: the never-enabled table is no channel, the one of no project no user subscription', async () => {
    replicator = startReplicator(api.db.url);
    await replicator.start();
    gw = await startGateway(api.db.url, { replicator });
    const socket = await connect(gw.port, signUserToken(secret, user.id, 900));
    sockets.push(socket);
    const unknown = await socket.timeout(5000).emitWithAck('subscribe', { channel: 'test_unstreamed_notes' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
    const projectless = await socket.timeout(5000).emitWithAck('subscribe', { channel: 'test_global_settings' });
    expect(projectless).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: expect.stringMatching(/belong to no project/) } });
  });
});
