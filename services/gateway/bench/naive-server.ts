// The baseline's server: one pg.Client LISTENs to the naive trigger's channel and
// broadcasts every notification to the Socket.IO clients subscribed to its table. No
// outbox, no seq, no replay: a client that is not connected when a change comes misses it.
import type { Server as HttpServer } from 'node:http';
import pg from 'pg';
import { Server } from 'socket.io';
import type { Logger } from '@realtime/db';
import { WS_PATH, type ClientToServerEvents, type ServerToClientEvents } from '@realtime/protocol';
import { NAIVE_CHANNEL, type NaivePayload } from '../../../db/bench/naive';

export class NaiveServer {
  private readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  private readonly listener: pg.Client;

  constructor(
    httpServer: HttpServer,
    url: string,
    private readonly log: Logger,
  ) {
    this.io = new Server(httpServer, { path: WS_PATH, serveClient: false });
    this.listener = new pg.Client({ connectionString: url, application_name: 'naive-listener' });
  }

  async start(): Promise<void> {
    this.io.on('connection', (socket) => {
      socket.on('subscribe', (req, ack) => {
        void socket.join(req.channel);
        ack({ ok: true, id: req.channel, headSeq: 0 });
      });
      socket.on('unsubscribe', (req, ack) => {
        void socket.leave(req.id);
        ack({ ok: true });
      });
    });
    this.listener.on('notification', (n) => {
      if (!n.payload) return;
      const p = JSON.parse(n.payload) as NaivePayload;
      // The seed's design has no seq: every event carries 0.
      this.io.to(p.table).emit('change', { sub: p.table, seq: 0, channel: p.table, op: p.op, row: p.row, old: p.old, committedAt: p.committedAt });
    });
    this.listener.on('error', (err) => this.log.error({ err }, 'naive listener lost its connection'));
    await this.listener.connect();
    await this.listener.query(`LISTEN ${NAIVE_CHANNEL}`);
  }

  async stop(): Promise<void> {
    await this.listener.end();
    await this.io.close();
  }
}
