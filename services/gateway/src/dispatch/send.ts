// Writing a subscription's changes to its socket: one batch, one message.
import type { Change } from '@realtime/protocol';
import { changesMessage, changesPacket } from '../subscriptions/wire';
import type { Subscription } from '../subscriptions/subscription';

/**
 * One batch as one message; nothing when empty. Live changes are shared by their
 * subscribers: the message is joined from changes serialized once (what
 * emit('changes', …) would write), and so are replay pages of the change log, whose
 * runs are shared by the replays reading them. On a WebSocket, such a message goes as a
 * frame whose changes part is UTF-8 made once for every subscription receiving the same
 * changes. A page read from the outbox is this subscription's alone: one serialization
 * of the whole page is cheapest.
 */
export function send(sub: Subscription, changes: Change[], shared = true): void {
  if (changes.length === 0 || sub.closed || !sub.socket.connected) return;
  if (!shared) {
    sub.socket.emit('changes', { sub: sub.id, channel: sub.channel, changes });
    return;
  }
  const conn = sub.socket.conn;
  if (conn.transport.name !== 'websocket') {
    conn.write(changesPacket(sub.id, sub.channel, changes));
    return;
  }
  const m = changesMessage(sub.id, sub.channel, changes);
  // Engine.IO sends a packet's pre-encoded frame on a WebSocket as it is (its option, untyped).
  conn.write(m.packet, { wsPreEncodedFrame: m.frame } as Parameters<typeof conn.write>[1]);
}
