// The baseline's server: one pg.Client LISTENs to the naive trigger's channel and
// broadcasts every notification to the Socket.IO clients of its table; a subscription
// with a filter is checked against every change, the naive way (no index), and gets the
// changes that match. Protocol v2's `changes` event, one change per message (nothing to
// batch: notifications come one at a time). No outbox, no seq, no replay: a client that
// is not connected when a change comes misses it.
import type { Server as HttpServer } from 'node:http';
import pg from 'pg';
import { Server, type Socket } from 'socket.io';
import type { Logger } from '@realtime/runtime';
import { WS_PATH, type Change, type ClientToServerEvents, type Filter, type ServerToClientEvents } from '@realtime/protocol';
import { NAIVE_CHANNEL, type NaivePayload } from './naive';

type NaiveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

interface FilteredSub {
  id: string;
  socket: NaiveSocket;
  channel: string;
  filter: Filter;
}

/** Whether a row has every value the filter asks for (a DELETE is judged by its old row). */
export function naiveMatches(row: Record<string, unknown> | null, filter: Filter): boolean {
  if (!row) return false;
  for (const column in filter) if (row[column] !== filter[column]) return false;
  return true;
}

export class NaiveServer {
  private readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  private readonly listener: pg.Client;
  /** Every filtered subscription of every socket, visited for every change. */
  private readonly filtered = new Set<FilteredSub>();
  private nextId = 1;

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
      const mine = new Map<string, FilteredSub>();
      socket.on('subscribe', (req, ack) => {
        if (!req.filter || Object.keys(req.filter).length === 0) {
          void socket.join(req.channel);
          ack({ ok: true, id: req.channel, headSeq: 0 });
          return;
        }
        const sub: FilteredSub = { id: `n${this.nextId++}`, socket, channel: req.channel, filter: req.filter };
        mine.set(sub.id, sub);
        this.filtered.add(sub);
        ack({ ok: true, id: sub.id, headSeq: 0 });
      });
      socket.on('unsubscribe', (req, ack) => {
        const sub = mine.get(req.id);
        if (sub) {
          mine.delete(sub.id);
          this.filtered.delete(sub);
        } else void socket.leave(req.id);
        ack({ ok: true });
      });
      socket.on('disconnect', () => {
        for (const sub of mine.values()) this.filtered.delete(sub);
        mine.clear();
      });
    });
    this.listener.on('notification', (n) => {
      if (!n.payload) return;
      const p = JSON.parse(n.payload) as NaivePayload;
      // The seed's design has no seq: every change carries 0.
      const change: Change = { seq: 0, op: p.op, row: p.row, old: p.old, committedAt: p.committedAt };
      this.io.to(p.table).emit('changes', { sub: p.table, channel: p.table, changes: [change] });
      const row = p.row ?? p.old;
      for (const sub of this.filtered) {
        if (sub.channel === p.table && naiveMatches(row, sub.filter)) sub.socket.emit('changes', { sub: sub.id, channel: p.table, changes: [change] });
      }
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
