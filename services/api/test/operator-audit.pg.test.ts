// Operators audit every change of every project: the outbox's row images are theirs to
// read, and each read of them is itself logged with the operator who made it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let owner: TestUser;
let operator: TestUser;
let projectId: string;

beforeAll(async () => {
  fx = await startApi();
  owner = await fx.user('owner@example.com');
  operator = await fx.user('ops@example.com', { operator: true });
  projectId = (await fx.call('POST', '/api/projects', { name: 'Secret plans' }, owner)).body.id;
});
afterAll(async () => {
  await fx?.close();
});

test('an operator reads a project they are no member of, and the read is logged with who made it', async () => {
  fx.audits.length = 0;
  const list = await fx.call('GET', '/api/outbox?table=projects', undefined, operator);
  expect(list.status).toBe(200);
  expect(list.body.items.some((r: { new_row?: { name?: string } }) => r.new_row?.name === 'Secret plans')).toBe(true);
  const history = await fx.call('GET', `/api/outbox/history/projects/${projectId}`, undefined, operator);
  expect(history.status).toBe(200);
  expect(fx.audits).toEqual([
    { audit: 'outbox-read', requestId: expect.any(String), operator: { id: operator.id, email: operator.email }, route: '/api/outbox', query: expect.objectContaining({ table: 'projects' }), changes: list.body.items.length },
    { audit: 'outbox-read', requestId: expect.any(String), operator: { id: operator.id, email: operator.email }, route: '/api/outbox/history/:table/:id', query: { table: 'projects', id: projectId }, changes: history.body.changes.length },
  ]);
});

test('stats and the table list carry no row images, and are not logged as reads of them', async () => {
  fx.audits.length = 0;
  expect((await fx.call('GET', '/api/outbox/stats', undefined, operator)).status).toBe(200);
  expect((await fx.call('GET', '/api/outbox/tables', undefined, operator)).status).toBe(200);
  expect(fx.audits).toEqual([]);
});

test('a member who is no operator reads no outbox, and nothing is logged', async () => {
  fx.audits.length = 0;
  expect((await fx.call('GET', '/api/outbox', undefined, owner)).status).toBe(403);
  expect(fx.audits).toEqual([]);
});
