// A page of another site must not open a socket with a user's token: browsers always send
// Origin, so a handshake from one outside FRONTEND_URL (and not the page's own) is refused
// with 403 before any Socket.IO session exists, for polling and WebSocket alike.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { originAllowed } from '../limits/origin';

export const ORIGIN_REFUSED_STATUS = 403;

/** The body a refused handshake gets: engine.io's own error shape (code 4 is its "Forbidden"). */
export interface OriginRefusal {
  code: 4;
  message: string;
}

/** Null when the origin may open a socket; else what the browser gets. */
export function originRefusal(origin: string | undefined, host: string | undefined, allowed: string[]): OriginRefusal | null {
  if (originAllowed(origin, host, allowed)) return null;
  const shown = String(origin).slice(0, 200);
  const list = allowed.length ? allowed.join(', ') : '(none)';
  return { code: 4, message: `ORIGIN_NOT_ALLOWED: ${shown} is not an allowed origin (allowed: ${list}, and the page's own host); add it to FRONTEND_URL` };
}

interface EngineLike {
  use(fn: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void): void;
}

/**
 * Installs the check as an engine.io middleware, which sees polling requests and
 * WebSocket upgrades alike. engine.io answers a refusal of `allowRequest` with 403 on
 * polling but 400 on an upgrade; here both get 403. On an upgrade `res` is engine.io's
 * stand-in whose `socket` is the raw connection: the answer is written there (the origin
 * test with a real client breaks if engine.io changes that).
 */
export function refuseForeignOrigins(engine: EngineLike, allowed: string[], refused: (req: IncomingMessage, refusal: OriginRefusal) => void): void {
  engine.use((req, res, next) => {
    const refusal = originRefusal(req.headers.origin, req.headers.host, allowed);
    if (!refusal) return next();
    refused(req, refusal);
    const body = JSON.stringify(refusal);
    if (res instanceof ServerResponse) {
      res.writeHead(ORIGIN_REFUSED_STATUS, { 'Content-Type': 'application/json' });
      res.end(body);
    } else {
      const raw = (res as unknown as { socket?: Duplex }).socket;
      if (raw?.writable) {
        raw.end(`HTTP/1.1 ${ORIGIN_REFUSED_STATUS} Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
    }
    // engine.io then skips the request: its answer was written already (headersSent, or a
    // socket no longer writable).
    next(new Error(refusal.message));
  });
}
