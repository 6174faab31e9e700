import { afterAll, beforeAll, expect, test } from 'vitest';
import { startFakeApi, type FakeApi } from './fake-api';

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(async () => api?.stop());

test('a list answers in the API\'s shape: one page by key, its total, the outbox head as the snapshot\'s', async () => {
  api.seed('data-layers', { id: 'b', name: 'B' });
  api.seed('data-layers', { id: 'a', name: 'A' });
  await fetch(`${api.url}/api/data-layers/a`, { method: 'PATCH', body: JSON.stringify({ name: 'A2' }) });
  const body = (await (await fetch(`${api.url}/api/data-layers`)).json()) as { items: { id: string }[]; page: unknown };
  expect(body.items.map((r) => r.id)).toEqual(['a', 'b']);
  expect(body.page).toEqual({ next: null, total: 2, limit: 2, order: { by: 'id', desc: false, key: 'id' }, snapshot: { head: 1, xmin: '1001', xmax: '1001', xip: [] } });
});
