// One client replaying a channel from since = 0, in a process of its own as a browser
// would be, so that parsing the pages is not charged to the server's event loop. Reads
// `{ port, token, channel, expected }` as one JSON line on stdin; prints one JSON line
// `{ changes, seconds }` once the subscription is live, or `error <message>`.
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, WS_PATH, type ClientToServerEvents, type ServerToClientEvents } from '@realtime/protocol';

export interface ReplayPlan {
  port: number;
  token: string;
  channel: string;
}

export interface ReplayResult {
  changes: number;
  seconds: number;
}

async function main(): Promise<void> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  const plan = JSON.parse(text) as ReplayPlan;
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`http://127.0.0.1:${plan.port}`, {
    path: WS_PATH,
    transports: ['websocket'],
    auth: { token: plan.token, v: PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  let changes = 0;
  // Timed from the subscribe to `live`, as a client sees its catch-up.
  const started = process.hrtime.bigint();
  const live = new Promise<void>((resolve) => socket.on('live', () => resolve()));
  socket.on('changes', (e) => (changes += e.changes.length));
  const ack = await socket.emitWithAck('subscribe', { channel: plan.channel, since: 0 });
  if (!ack.ok) throw new Error(`subscribe refused: ${ack.error.code} ${ack.error.message}`);
  await live;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  socket.disconnect();
  const result: ReplayResult = { changes, seconds };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stdout.write(`error ${(err as Error).message}\n`, () => process.exit(1));
});
