// A Socket.IO client stand-in for the realtime tests: it records what is emitted (the
// `auth` renewals too) and the handshake payload of each connect, and lets the test fire
// server events, accept or refuse the handshake, connect and disconnect at will.
import type { SocketLike } from '../types.js';

export class FakeSocket implements SocketLike {
  connected = false;
  connects = 0;
  auth: unknown = undefined;
  /** `auth` as it was at each connect(). */
  readonly handshakes: unknown[] = [];
  readonly handlers = new Map<string, ((...a: never[]) => void)[]>();
  readonly sent: { event: string; payload: unknown; ack?: (r: unknown) => void }[] = [];

  /** With `autoConnect`, connect() succeeds at once; otherwise the test calls up() or refuse(). */
  constructor(private readonly autoConnect = false) {}

  connect() {
    this.connects++;
    this.handshakes.push(this.auth);
    if (this.autoConnect) this.up();
  }
  disconnect() {
    if (!this.connected) return;
    this.down();
  }
  on(event: string, fn: (...a: never[]) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
  }
  emit(event: string, payload: unknown, ack?: (r: unknown) => void) {
    this.sent.push({ event, payload, ack });
  }
  fire(event: string, ...args: unknown[]) {
    for (const fn of this.handlers.get(event) ?? []) (fn as (...a: unknown[]) => void)(...args);
  }
  up() {
    this.connected = true;
    this.fire('connect');
  }
  down() {
    this.connected = false;
    this.fire('disconnect');
  }
  /** The server's middleware refuses the handshake, as Socket.IO reports it. */
  refuse(code: string, message = code) {
    this.fire('connect_error', Object.assign(new Error(message), { data: { code } }));
  }
  last(event: string) {
    return [...this.sent].reverse().find((s) => s.event === event)!;
  }
  count(event: string) {
    return this.sent.filter((s) => s.event === event).length;
  }
}

// The testing entry's other stand-in: a clock for the client's and the write queue's `now` and `timers`.
export { ManualClock } from './clock.js';
