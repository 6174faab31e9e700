// The connection state the app sees, projected from the connection's machine and its
// subscriptions' machines. Pure, so that what a status means is stated once.
import type { ConnectionState } from '../types.js';
import type { Connection } from './machine.js';
import type { Subscription } from './subscription.js';

type Counted = Pick<Subscription, 'replaying' | 'received' | 'at' | 'head'>;

export function connectionView(c: Connection, subs: readonly Counted[]): ConnectionState {
  let catchingUp = 0;
  let behind = 0;
  let replaying = false;
  for (const s of subs) {
    if (!s.replaying) continue;
    replaying = true;
    catchingUp += s.received;
    if (s.at !== null && s.head > 0) behind = Math.max(behind, s.head - s.at);
  }
  const up = c.phase === 'live';
  // Before its first outcome the connection is `connecting`; once down, `offline` until it is up again.
  const status = up ? (replaying ? 'catching-up' : 'live') : c.offlineSince !== null ? 'offline' : 'connecting';
  return {
    status,
    catchingUp,
    lastCatchUp: c.lastCatchUp,
    attempt: c.attempt,
    behind: status === 'catching-up' ? behind : 0,
    dataAt: up ? null : c.dataAt,
    offlineSince: up ? null : c.offlineSince,
  };
}

export function sameView(a: ConnectionState, b: ConnectionState): boolean {
  return (Object.keys(a) as (keyof ConnectionState)[]).every((k) => a[k] === b[k]);
}
