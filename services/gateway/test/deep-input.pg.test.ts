// A socket message nested thousands deep (within the size bound: 6,000 levels are 12 KB)
// is refused with an error acknowledgement that names the depth, not an INTERNAL from a
// stack overflow, and the connection and the stream go on.
import { expect, test } from 'vitest';
import { JSON_DEPTH_LIMIT } from '@realtime/db';
import { Received, jobChurn, newProject, useStack, waitFor } from './helpers';

const stack = useStack();

const nested = (depth: number): string => '['.repeat(depth) + '1' + ']'.repeat(depth);

/**
 * Sends a subscribe as raw Socket.IO text (the client's encoder would itself overflow on
 * such a value) and resolves with its acknowledgement.
 */
function rawSubscribe(socket: Awaited<ReturnType<typeof stack.client>>, payload: string): Promise<unknown> {
  const engine = (socket as unknown as { io: { engine: { write(s: string): void; on(e: 'message', f: (d: string) => void): void; off(e: 'message', f: (d: string) => void): void } } }).io.engine;
  const ackId = 987654;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no acknowledgement in 10 s')), 10_000);
    const onMessage = (data: string) => {
      if (typeof data !== 'string' || !data.startsWith(`3${ackId}`)) return;
      clearTimeout(timer);
      engine.off('message', onMessage);
      resolve((JSON.parse(data.slice(`3${ackId}`.length)) as unknown[])[0]);
    };
    engine.on('message', onMessage);
    engine.write(`2${ackId}["subscribe",${payload}]`);
  });
}

test.each([
  ['a filter value', (d: number) => `{"channel":"extraction_jobs","filter":{"project_id":${nested(d)}}}`],
  ['since', (d: number) => `{"channel":"projects","since":${nested(d)}}`],
  ['an unknown key', (d: number) => `{"channel":"projects","extra":${nested(d)}}`],
])('a subscribe with %s nested 6,000 deep: BAD_REQUEST naming the depth; the socket then subscribes and receives', async (_why, make) => {
  const socket = await stack.client();
  const res = await rawSubscribe(socket, make(6000));
  expect(res).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: `message nested deeper than ${JSON_DEPTH_LIMIT} levels of arrays and objects` } });
  expect(socket.connected).toBe(true);

  const p = await newProject(stack.pool, 'deep');
  const good = new Received(socket);
  expect(await good.subscribe({ channel: 'extraction_jobs', filter: { project_id: p } })).toMatchObject({ ok: true });
  await jobChurn(stack.db.url, [p], { changes: 5, writers: 1 });
  await waitFor('the five changes', () => good.changes.length >= 5);
});
