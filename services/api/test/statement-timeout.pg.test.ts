// STATEMENT_TIMEOUT_MS holds on both pools of `npm start`: an API statement stuck behind a
// lock is cancelled and answered 500 INTERNAL (its request id, no database wording), and a
// replay stuck the same way ends in `resync` (unavailable), not a socket that waits forever.
import { expect, test } from 'vitest';
import { io } from 'socket.io-client';
import { useTestDatabase } from '@realtime/db/testing';
import { PROTOCOL_VERSION, type ResyncEvent } from '@realtime/protocol';
import { projectOf, waitFor } from '@realtime/gateway/test-helpers';
import { addUser, realtimeToken, signIn, startApp } from './spawn';

const fx = useTestDatabase();

test('a statement held past STATEMENT_TIMEOUT_MS is cancelled: the API answers 500, the replay resyncs', async () => {
  const password = 'timeout-password-123';
  const user = await addUser(fx.pool, 'slowdb@example.com', password);
  const project = await projectOf(fx.pool, user, 'locked');
  const app = await startApp(fx.db.url, { STATEMENT_TIMEOUT_MS: '300' });
  const locker = await fx.pool.connect();
  try {
    const session = await signIn(app.base, 'slowdb@example.com', password);
    const token = await realtimeToken(app.base, session);
    const socket = io(app.base, { path: '/ws', transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    // Wait until the stream has reached the creator's grant (it was written before the start).
    await waitFor('the grant streamed', async () => (await socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects', filter: { id: project } })).ok);

    // The API: a row locked by another transaction.
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM projects WHERE id = $1 FOR UPDATE', [project]);
    const started = Date.now();
    const res = await fetch(`${app.base}/api/projects/${project}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...session }, body: JSON.stringify({ name: 'renamed' }) });
    const body = (await res.json()) as { error: { code: string; message: string; requestId?: string } };
    expect(res.status).toBe(500);
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.requestId).toBeTruthy();
    expect(body.error.message).not.toMatch(/statement|timeout|cancel/i);
    expect(Date.now() - started).toBeLessThan(10_000);
    await locker.query('ROLLBACK');

    // A replay: the outbox locked against reads.
    const resyncs: ResyncEvent[] = [];
    socket.on('resync', (e) => resyncs.push(e));
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE change_outbox IN ACCESS EXCLUSIVE MODE');
    const ack = await socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects', since: 0, filter: { id: project } });
    // The bounds are read before the ack: either that read is cancelled (INTERNAL, the
    // client asks again) or the replay's is (resync, unavailable). Neither waits for the lock.
    if (ack.ok) await waitFor('the replay to give up', () => resyncs.some((r) => r.sub === ack.id && r.reason === 'unavailable'), 15_000);
    else expect(ack.error.code).toBe('INTERNAL');
    await locker.query('ROLLBACK');
    expect(app.output()).toMatch(/canceling statement due to statement timeout/);
    socket.disconnect();
  } finally {
    locker.release();
    await app.stop();
  }
}, 120_000);
