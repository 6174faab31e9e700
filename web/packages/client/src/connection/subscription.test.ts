// A subscription's transitions, the routing of server events, and the connection state
// the app sees, as tables. No socket, no timers.
import { expect, test } from 'vitest';
import { initialConnection, type Connection } from './machine.js';
import { routeOf, type Route } from './routes.js';
import { newSubscription, reduceSubscription, type Subscription, type SubscriptionEffect, type SubscriptionEvent } from './subscription.js';
import { connectionView } from './view.js';

const sub = (patch: Partial<Subscription>): Subscription => ({ ...newSubscription(), ...patch });
const subscribing = sub({ phase: 'subscribing', sends: 1, replaying: true, at: 10 });
const replaying = sub({ phase: 'replaying', sends: 1, serverId: 's1', replaying: true, received: 4, at: 14, head: 20 });

test.each<[string, Subscription, SubscriptionEvent, Partial<Subscription>, SubscriptionEffect[]]>([
  ['sent from a seq: subscribing and replaying, from that seq', newSubscription(), { type: 'send', resume: { since: 10, fp: 'abc' } }, { phase: 'subscribing', sends: 1, replaying: true, at: 10, received: 0 }, [{ type: 'cancel-retry' }, { type: 'subscribe', resume: { since: 10, fp: 'abc' }, send: 1 }]],
  ['sent from a cursor: replaying, with no seq yet', newSubscription(), { type: 'send', resume: { cursor: 'C' } }, { phase: 'subscribing', replaying: true, at: null }, [{ type: 'cancel-retry' }, { type: 'subscribe', resume: { cursor: 'C' }, send: 1 }]],
  ['sent from nowhere: not replaying', newSubscription(), { type: 'send', resume: {} }, { phase: 'subscribing', replaying: false }, [{ type: 'cancel-retry' }, { type: 'subscribe', resume: {}, send: 1 }]],
  ['acknowledged: bound, told, then what came before the ack', subscribing, { type: 'ack', send: 1, ack: { ok: true, id: 's1', headSeq: 30 } }, { phase: 'replaying', serverId: 's1', head: 30 }, [{ type: 'bind', id: 's1' }, { type: 'subscribed', headSeq: 30 }, { type: 'deliver-held', id: 's1' }]],
  ['acknowledged with nothing to replay: live', sub({ phase: 'subscribing', sends: 1 }), { type: 'ack', send: 1, ack: { ok: true, id: 's1', headSeq: 30 } }, { phase: 'live' }, [{ type: 'bind', id: 's1' }, { type: 'subscribed', headSeq: 30 }, { type: 'deliver-held', id: 's1' }]],
  ['refused (INTERNAL): told, asked again after backoff step 0', subscribing, { type: 'ack', send: 1, ack: { ok: false, error: { code: 'INTERNAL', message: 'try again' } } }, { phase: 'retrying', refusals: 1 }, [{ type: 'error', message: 'INTERNAL: try again', code: 'INTERNAL' }, { type: 'arm-retry', backoff: 0 }]],
  ['refused again (RATE_LIMITED): the next backoff step', sub({ ...subscribing, refusals: 2 }), { type: 'ack', send: 1, ack: { ok: false, error: { code: 'RATE_LIMITED', message: 'slow down' } } }, { phase: 'retrying', refusals: 3 }, [{ type: 'error', message: 'RATE_LIMITED: slow down', code: 'RATE_LIMITED' }, { type: 'arm-retry', backoff: 2 }]],
  ['refused about the request (FORBIDDEN): told once, not asked again', subscribing, { type: 'ack', send: 1, ack: { ok: false, error: { code: 'FORBIDDEN', message: 'no grant' } } }, { phase: 'refused' }, [{ type: 'error', message: 'FORBIDDEN: no grant', code: 'FORBIDDEN' }]],
  ['an ack for an earlier send: that server subscription is let go', sub({ ...subscribing, sends: 2 }), { type: 'ack', send: 1, ack: { ok: true, id: 'old', headSeq: 1 } }, { phase: 'subscribing', serverId: null }, [{ type: 'retire', id: 'old' }, { type: 'unsubscribe', id: 'old' }]],
  ['an ack after it was closed: let go', sub({ ...subscribing, phase: 'closed' }), { type: 'ack', send: 1, ack: { ok: true, id: 's1', headSeq: 1 } }, { phase: 'closed' }, [{ type: 'retire', id: 's1' }, { type: 'unsubscribe', id: 's1' }]],
  ['a refusal after it was closed: nothing', sub({ ...subscribing, phase: 'closed' }), { type: 'ack', send: 1, ack: { ok: false, error: { code: 'INTERNAL', message: 'x' } } }, { phase: 'closed' }, []],
  ['a batch while replaying: counted, its position kept', replaying, { type: 'changes', count: 3, lastSeq: 17 }, { received: 7, at: 17 }, []],
  ['a batch while live: not counted', sub({ phase: 'live', serverId: 's1' }), { type: 'changes', count: 3, lastSeq: 17 }, { received: 0 }, []],
  ['live after replaying: the catch-up is reported', replaying, { type: 'live', seq: 20 }, { phase: 'live', replaying: false }, [{ type: 'caught-up', changes: 4 }, { type: 'went-live', seq: 20 }]],
  ['resync: its id let go, the owner told', replaying, { type: 'resync', reason: 'retention' }, { phase: 'resyncing', serverId: null }, [{ type: 'retire', id: 's1' }, { type: 'resynced', reason: 'retention' }]],
  ['the retry is due while connected: sent again', sub({ phase: 'retrying' }), { type: 'retry-due', connected: true }, { phase: 'retrying' }, [{ type: 'resend' }]],
  ['the retry is due while down: the reconnect sends it', sub({ phase: 'retrying' }), { type: 'retry-due', connected: false }, { phase: 'retrying' }, []],
  ['the connection went down: pending, its id gone', replaying, { type: 'disconnected' }, { phase: 'pending', serverId: null, replaying: true }, []],
  ['the connection went down while a retry waits: the retry is cancelled', sub({ phase: 'retrying' }), { type: 'disconnected' }, { phase: 'pending' }, [{ type: 'cancel-retry' }]],
  ['closed while bound: unsubscribed', replaying, { type: 'close' }, { phase: 'closed' }, [{ type: 'cancel-retry' }, { type: 'retire', id: 's1' }, { type: 'unsubscribe', id: 's1' }]],
  ['closed before its ack: the ack will let it go', subscribing, { type: 'close' }, { phase: 'closed' }, [{ type: 'cancel-retry' }]],
  ['closed twice: nothing', sub({ phase: 'closed' }), { type: 'close' }, { phase: 'closed' }, []],
])('%s', (_name, state, event, next, effects) => {
  const step = reduceSubscription(state, event);
  expect(step.state).toMatchObject(next);
  expect(step.effects).toEqual(effects);
});

test.each<[string, boolean, boolean, number, Route]>([
  ['bound to a subscription', true, false, 0, 'deliver'],
  ['let go on this connection', false, true, 1, 'ignore'],
  ['unknown while an ack is on the way', false, false, 1, 'hold'],
  ['unknown with no ack on the way', false, false, 0, 'stray'],
])('an event for an id %s: %s', (_name, bound, retired, awaiting, route) => {
  expect(routeOf(bound, retired, awaiting)).toBe(route);
});

const conn = (patch: Partial<Connection>): Connection => ({ ...initialConnection({ tokens: true, renew: true }), ...patch });
test.each<[string, Connection, Subscription[], Record<string, unknown>]>([
  ['before any outcome: connecting', conn({ phase: 'authenticating' }), [], { status: 'connecting', offlineSince: null }],
  ['live, nothing replaying', conn({ phase: 'live', lastCatchUp: 3 }), [sub({ phase: 'live' })], { status: 'live', lastCatchUp: 3, behind: 0 }],
  ['replaying: catching up, as far behind as the furthest', conn({ phase: 'live' }), [replaying, sub({ ...replaying, received: 1, at: 2, head: 40 })], { status: 'catching-up', catchingUp: 5, behind: 38 }],
  ['replaying from a cursor with nothing yet: behind unknown', conn({ phase: 'live' }), [sub({ ...replaying, at: null })], { status: 'catching-up', behind: 0 }],
  ['down: offline, since when, data as of when', conn({ phase: 'backing-off', attempt: 2, offlineSince: 5, dataAt: 4 }), [replaying], { status: 'offline', attempt: 2, offlineSince: 5, dataAt: 4, behind: 0 }],
])('the connection state: %s', (_name, c, subs, view) => {
  expect(connectionView(c, subs)).toMatchObject(view);
});
