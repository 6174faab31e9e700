// The client as an app makes it: a URL and a way to get a token. The socket is made here
// (the protocol's path, websocket only, Socket.IO's own reconnection off: the client
// reconnects with its own backoff and resumes every subscription itself).
import { io, type Socket } from 'socket.io-client';
import { WS_PATH } from '@realtime/protocol';
import { RealtimeClient, type ClientOptions, type RealtimeToken } from './client.js';

export interface CreateRealtimeOptions extends Omit<ClientOptions, 'tokens'> {
  /** The gateway's origin, e.g. `https://app.example.com` (the socket's path is /ws). */
  url: string;
  /**
   * A token for the handshake and for renewals: `expiresAt` in ms since the epoch (or an
   * ISO string, or a Date). Null means signed out: the client stops. A rejection counts
   * as a failed attempt and is retried with backoff.
   */
  getToken: () => Promise<TokenLike | null>;
}

export interface TokenLike {
  token: string;
  expiresAt: number | string | Date;
}

const toToken = (t: TokenLike): RealtimeToken => ({
  token: t.token,
  expiresAt: typeof t.expiresAt === 'number' ? t.expiresAt : new Date(t.expiresAt).getTime(),
});

/** A client for one signed-in user: call start() to connect (RealtimeProvider does), stop() to close. */
export function createRealtime(opts: CreateRealtimeOptions): RealtimeClient<Socket> {
  const { url, getToken, ...rest } = opts;
  // timeout: an attempt into a black-holed route gives up after 8 s (Socket.IO waits 20 s),
  // so the next attempt, or the one an `online` event starts, comes sooner.
  const socket = io(url, { path: WS_PATH, transports: ['websocket'], autoConnect: false, reconnection: false, forceNew: true, timeout: 8000 });
  return new RealtimeClient(socket, { ...rest, tokens: () => getToken().then((t) => (t ? toToken(t) : null)) });
}
