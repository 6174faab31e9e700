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
  let body = '';
  for (let i = 0; i < changes.length; i++) body += (i ? ',' : '') + changeJson(changes[i]!);
  return `2["changes",{"sub":${JSON.stringify(sub)},"channel":${JSON.stringify(channel)},"changes":[${body}]}]`;
}
