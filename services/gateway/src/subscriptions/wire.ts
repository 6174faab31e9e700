// The `changes` message as Socket.IO writes it, built from changes serialized once. A
// change routed the same way to many subscriptions (same op, the same rows) is one
// string, however many subscribers it has: the fan-out joins strings instead of
// serializing rows again for every socket.
import type { Change } from '@realtime/protocol';

// Kept on the change itself under a symbol (JSON.stringify skips symbol keys): a WeakMap
// of every change sent costs the garbage collector dearly at replay rates.
const JSON_OF = Symbol('json');

/** The change's JSON, made on first use and kept with the (shared, immutable) change. */
export function changeJson(c: Change): string {
  const held = c as Change & { [JSON_OF]?: string };
  let s = held[JSON_OF];
  if (s === undefined) {
    s = JSON.stringify(c);
    held[JSON_OF] = s;
  }
  return s;
}

/**
 * A Socket.IO EVENT packet (type 2, default namespace, no ack id) carrying
 * `changes { sub, channel, changes }`: exactly what `socket.emit('changes', …)` would
 * encode, written to the connection as it is.
 */
export function changesPacket(sub: string, channel: string, changes: readonly Change[]): string {
  return headOf(sub, channel) + tailOf(changes).text;
}

const headOf = (sub: string, channel: string) => `2["changes",{"sub":${JSON.stringify(sub)},"channel":${JSON.stringify(channel)},"changes":[`;

// A page's shared part (its changes and the closing brackets), kept on its first change:
// every subscription receiving the same changes in one message shares it.
const TAIL_OF = Symbol('tail');

interface Tail {
  changes: readonly Change[];
  text: string;
  /** Made when a WebSocket first needs it. */
  bytes: Buffer | null;
}

function sameChanges(a: readonly Change[], b: readonly Change[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The changes' JSON and the message's closing, as text and UTF-8: made once for every message of the same changes. */
function tailOf(changes: readonly Change[]): Tail {
  const first = changes[0] as (Change & { [TAIL_OF]?: Tail }) | undefined;
  const held = first?.[TAIL_OF];
  if (held && sameChanges(held.changes, changes)) return held;
  let body = '';
  for (let i = 0; i < changes.length; i++) body += (i ? ',' : '') + changeJson(changes[i]!);
  const text = `${body}]}]`;
  const tail: Tail = { changes: changes.slice(), text, bytes: null };
  if (first) first[TAIL_OF] = tail;
  return tail;
}

/**
 * The header of an unmasked, final WebSocket text frame (RFC 6455 §5.2) of `length`
 * bytes, as ws's `Sender.frame` makes it: a server's frames are never masked.
 */
export function textFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x81, length]);
  if (length < 65536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = 0x81;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x81;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

export interface ChangesMessage {
  /** The Socket.IO packet (what the polling transport sends). */
  packet: string;
  /**
   * The same packet as a WebSocket frame in two parts (Engine.IO's `wsPreEncodedFrame`,
   * as Socket.IO's broadcasts use it): this subscription's head, then the tail every
   * message of the same changes shares, so a page sent to 5,000 subscriptions is encoded
   * to UTF-8 once, and written by reference.
   */
  frame: [Buffer, Buffer];
}

/** `changesPacket`, with its WebSocket frame. */
export function changesMessage(sub: string, channel: string, changes: readonly Change[]): ChangesMessage {
  const head = headOf(sub, channel);
  const tail = tailOf(changes);
  const tailBytes = (tail.bytes ??= Buffer.from(tail.text));
  // "4": an Engine.IO message packet, which is what the frame carries.
  const headBytes = Buffer.from(`4${head}`);
  const header = textFrameHeader(headBytes.length + tailBytes.length);
  return { packet: head + tail.text, frame: [Buffer.concat([header, headBytes]), tailBytes] };
}
