// What the gateway keeps per socket: its principal, its subscriptions, and the bounds
// it is held to (its byte queue, subscribe rate, replay turns, token expiry).
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '@realtime/protocol';
import type { Principal } from '@realtime/auth';
import type { TokenBucket } from '../limits/rate';
import type { SocketBytes } from '../limits/socket-bytes';
import type { Turns } from '../limits/turns';
import type { Subscription } from '../subscriptions/subscription';

export interface SocketData {
  principal: Principal;
  subject: string | null;
  subs: Map<string, Subscription>;
  badMessages: number;
  expiry: NodeJS.Timeout | null;
  queue: SocketBytes;
  subscribes: TokenBucket;
  /** One replay page at a time per socket: its subscriptions' replays share its bound. */
  pages: Turns;
  /** The user's replays (shared by their sockets; a service token's own): taken before any read. */
  replays: Turns;
  /** Set once the socket went over its bound: whether it drained in time is checked then. */
  slowCheck: NodeJS.Timeout | null;
}

export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Who a log line is about: the socket, and its user or its service token's subject. */
export function who(socket: GatewaySocket): Record<string, unknown> {
  const p = socket.data.principal;
  return { socket: socket.id, ...(p?.kind === 'user' ? { user: p.userId } : { subject: socket.data.subject }) };
}

/** What every part of the gateway counts, read by stats() and the gauges. */
export interface Counters {
  replays: number;
  resyncs: number;
  badMessages: number;
  /** Subscriptions a live change was routed for; grows with those that can match, not with all. */
  offered: number;
}
