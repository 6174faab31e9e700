// A table declared while the gateway runs is served without a restart, and PG_CHANNELS
// only narrows what the catalog shows.
import { describe, expect, test } from 'vitest';
import { ChannelCatalog } from '../src/channels';
import { Received, log, useStack, waitFor } from './helpers';

const stack = useStack();

const migration = (table: string) => `
  CREATE TABLE ${table} (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    total_cents bigint NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now()
  );
  SELECT realtime_enable('${table}', 'id', 'project_id');`;

describe('a table enabled by a migration while the gateway runs', () => {
  test('is unknown before, subscribable after without a restart, and its changes flow', async () => {
    const r = new Received(await stack.client());
    const before = await r.subscribe({ channel: 'receipts' });
    expect(before).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL', message: expect.stringMatching(/unknown channel "receipts"/) } });

    await stack.pool.query(migration('receipts'));
    // realtime_enable's NOTIFY makes the gateway read the catalog again.
    await waitFor('the new channel', () => stack.gw.gateway.channels.includes('receipts'), 10_000);
    const { rows } = await stack.pool.query(`INSERT INTO projects (name) VALUES ('r') RETURNING id`);
    const projectId = rows[0].id as string;
    expect(await r.subscribe({ channel: 'receipts', filter: { projectId } })).toMatchObject({ ok: true });
    // Written from a session in India: the row still arrives in UTC.
    const writer = await stack.pool.connect();
    try {
      await writer.query(`SET TimeZone = 'Asia/Kolkata'`);
      await writer.query(`INSERT INTO receipts (project_id, total_cents, issued_at) VALUES ($1, 4200, '2026-11-27 01:02:03.5+00')`, [projectId]);
      await writer.query(`RESET TimeZone`);
    } finally {
      writer.release();
    }
    const change = await waitFor('the insert', () => r.changes[0]);
    expect(change.row).toMatchObject({ projectId, totalCents: '4200', issuedAt: '2026-11-27T01:02:03.500Z' });
  });

  test('a subscribe to an unknown channel reads the catalog again, at most once a second', async () => {
    // No LISTEN: only the read on a miss can find it.
    const catalog = await ChannelCatalog.load({ pool: stack.pool, log, missRefreshMs: 60_000 });
    expect(catalog.get('refunds')).toBeUndefined();
    await stack.pool.query(migration('refunds'));
    await catalog.refreshOnMiss();
    expect(catalog.get('refunds')).toMatchObject({ keyColumn: 'id', projectColumn: 'project_id' });
    await stack.pool.query(migration('credits'));
    // Within the rate limit: not read again.
    await catalog.refreshOnMiss();
    expect(catalog.get('credits')).toBeUndefined();
    await catalog.stop();
  });
});

describe('PG_CHANNELS', () => {
  test('narrows the catalog', async () => {
    const catalog = await ChannelCatalog.load({ pool: stack.pool, log, only: ['projects', 'extraction_jobs'] });
    expect(catalog.names.sort()).toEqual(['extraction_jobs', 'projects']);
    expect(catalog.get('projects')).toMatchObject({ keyColumn: 'id', projectColumn: 'id' });
    await catalog.stop();
  });

  test.each([
    ['a table that does not exist', ['projects', 'nope'], /PG_CHANNELS names nope, which the database has no table for/],
    ['a table whose changes are not captured', ['users'], /PG_CHANNELS names users, whose changes are not captured; add SELECT realtime_enable\('users'/],
  ])('naming %s is an error that names the fix', async (_name, only, message) => {
    await expect(ChannelCatalog.load({ pool: stack.pool, log, only })).rejects.toThrow(message);
  });
});
