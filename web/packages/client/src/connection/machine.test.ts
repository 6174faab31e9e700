// The connection's transitions as a table: a state, an event, the next state and the
// effects. No socket, no timers.
import { describe, expect, test } from 'vitest';
import { initialConnection, reduceConnection, type Connection, type ConnectionEffect, type ConnectionEvent } from './machine.js';

const NOW = 1_000_000;
const min = 60_000;
const base = initialConnection({ tokens: true, renew: true });
const at = (patch: Partial<Connection>): Connection => ({ ...base, ...patch });
const live = at({ phase: 'live', generation: 4, token: { token: 't1', expiresAt: NOW + 15 * min }, heardAt: NOW - 5 });
const backingOff = at({ phase: 'backing-off', generation: 5, attempt: 3, offlineSince: NOW - 9000, dataAt: NOW - 9500 });
const stopAll: ConnectionEffect[] = [{ type: 'cancel', timer: 'reconnect' }, { type: 'cancel', timer: 'drop' }, { type: 'cancel', timer: 'refresh' }, { type: 'unlisten' }, { type: 'disconnect' }];

test.each<[string, Connection, ConnectionEvent, Partial<Connection>, ConnectionEffect[]]>([
  // Starting.
  ['start without a token source: connect with the socket own auth', initialConnection({ tokens: false, renew: true }), { type: 'start', now: NOW }, { phase: 'connecting' }, [{ type: 'listen' }, { type: 'connect', token: null }]],
  ['start with a token source: ask for a token', base, { type: 'start', now: NOW }, { phase: 'authenticating' }, [{ type: 'listen' }, { type: 'fetch-token', purpose: 'connect', generation: 0 }]],
  ['start again after a stop reuses a token with more than a minute left', at({ phase: 'stopped', generation: 2, token: { token: 't1', expiresAt: NOW + 2 * min } }), { type: 'start', now: NOW }, { phase: 'connecting' }, [{ type: 'listen' }, { type: 'connect', token: 't1' }]],
  ['start while started: nothing', live, { type: 'start', now: NOW }, { phase: 'live' }, []],
  ['the token arrives: connect with it', at({ phase: 'authenticating', generation: 1 }), { type: 'token', purpose: 'connect', generation: 1, token: { token: 't2', expiresAt: NOW + min * 15 }, now: NOW, connected: false }, { phase: 'connecting', token: { token: 't2', expiresAt: NOW + min * 15 } }, [{ type: 'connect', token: 't2' }]],
  ['a token for an older generation is for nobody', at({ phase: 'authenticating', generation: 2 }), { type: 'token', purpose: 'connect', generation: 1, token: { token: 't2', expiresAt: NOW }, now: NOW, connected: false }, { phase: 'authenticating', token: null }, []],
  ['no token (signed out): stopped', at({ phase: 'authenticating', generation: 1 }), { type: 'token', purpose: 'connect', generation: 1, token: null, now: NOW, connected: false }, { phase: 'stopped', generation: 2 }, stopAll],
  ['the token request failed: a failed attempt, backing off', at({ phase: 'authenticating', generation: 1 }), { type: 'token-failed', purpose: 'connect', generation: 1, now: NOW }, { phase: 'backing-off', attempt: 1, generation: 2, offlineSince: NOW }, [{ type: 'cancel', timer: 'refresh' }, { type: 'forget' }, { type: 'arm', timer: 'reconnect', backoff: 0 }]],

  // Up and down.
  [
    'connected: live, the backoff starts over, renewal armed at 80% of the token life, every subscription sent',
    at({ phase: 'connecting', attempt: 3, offlineSince: NOW - 10, dataAt: NOW - 20, lastCatchUp: 9, token: { token: 't1', expiresAt: NOW + 15 * min } }),
    { type: 'connected', now: NOW },
    { phase: 'live', attempt: 0, offlineSince: null, dataAt: null, lastCatchUp: 0, heardAt: NOW },
    [{ type: 'cancel', timer: 'reconnect' }, { type: 'arm', timer: 'refresh', ms: 12 * min }, { type: 'resubscribe' }],
  ],
  ['connected with renew off: no renewal', at({ phase: 'connecting', renew: false, token: { token: 't1', expiresAt: NOW + 15 * min } }), { type: 'connected', now: NOW }, { phase: 'live' }, [{ type: 'cancel', timer: 'reconnect' }, { type: 'cancel', timer: 'refresh' }, { type: 'resubscribe' }]],
  ['disconnected: offline since now, data as old as the last word, backoff step 0', live, { type: 'disconnected', now: NOW }, { phase: 'backing-off', attempt: 1, generation: 5, offlineSince: NOW, dataAt: NOW - 5 }, [{ type: 'cancel', timer: 'refresh' }, { type: 'forget' }, { type: 'arm', timer: 'reconnect', backoff: 0 }]],
  ['a failed attempt keeps offlineSince and dataAt, and waits the next step', at({ ...backingOff, phase: 'connecting' }), { type: 'connect-error', now: NOW }, { phase: 'backing-off', attempt: 4, offlineSince: NOW - 9000, dataAt: NOW - 9500 }, [{ type: 'cancel', timer: 'refresh' }, { type: 'forget' }, { type: 'arm', timer: 'reconnect', backoff: 3 }]],
  ['the reconnect timer: a new attempt', backingOff, { type: 'timer', timer: 'reconnect', now: NOW, connected: false }, { phase: 'authenticating' }, [{ type: 'fetch-token', purpose: 'connect', generation: 5 }]],
  ['disconnected while stopped: down, no reconnect', at({ phase: 'stopped', generation: 3 }), { type: 'disconnected', now: NOW }, { phase: 'stopped', offlineSince: NOW, generation: 4 }, [{ type: 'cancel', timer: 'refresh' }, { type: 'forget' }]],

  // Waking up early.
  ['online while backing off: try now instead of waiting', backingOff, { type: 'wake', now: NOW, connected: false }, { phase: 'authenticating', attempt: 3 }, [{ type: 'cancel', timer: 'reconnect' }, { type: 'fetch-token', purpose: 'connect', generation: 5 }]],
  ['online while an attempt is under way: nothing', at({ phase: 'connecting' }), { type: 'wake', now: NOW, connected: false }, { phase: 'connecting' }, []],
  ['online while live: nothing', live, { type: 'wake', now: NOW, connected: true }, { phase: 'live' }, []],
  ['online during a deliberate drop: nothing', at({ phase: 'dropped' }), { type: 'wake', now: NOW, connected: false }, { phase: 'dropped' }, []],

  // Dropping on purpose.
  ['dropFor: down for that long, no backoff', live, { type: 'drop', ms: 3000, now: NOW }, { phase: 'dropped', generation: 5, offlineSince: NOW }, [{ type: 'cancel', timer: 'reconnect' }, { type: 'arm', timer: 'drop', ms: 3000 }, { type: 'disconnect' }]],
  ['the drop ends: an attempt, reusing a valid token', at({ phase: 'dropped', token: { token: 't1', expiresAt: NOW + 15 * min } }), { type: 'timer', timer: 'drop', now: NOW, connected: false }, { phase: 'connecting' }, [{ type: 'connect', token: 't1' }]],
  ['disconnected during a drop: no reconnect of its own', at({ phase: 'dropped', generation: 5 }), { type: 'disconnected', now: NOW }, { phase: 'dropped', generation: 6 }, [{ type: 'cancel', timer: 'refresh' }, { type: 'forget' }]],
  ['dropFor on a stopped client: nothing', at({ phase: 'stopped' }), { type: 'drop', ms: 3000, now: NOW }, { phase: 'stopped' }, []],

  // Tokens on the open socket.
  ['the renewal is due: ask for a token', live, { type: 'timer', timer: 'refresh', now: NOW, connected: true }, { phase: 'live' }, [{ type: 'fetch-token', purpose: 'renew', generation: 4 }]],
  ['the renewal token arrives: send it on the socket', live, { type: 'token', purpose: 'renew', generation: 4, token: { token: 't2', expiresAt: NOW + 15 * min }, now: NOW, connected: true }, { token: live.token }, [{ type: 'renew', token: 't2', generation: 4 }]],
  ['the server takes it: the next renewal counts from the new expiry', live, { type: 'renew-answer', generation: 4, token: 't2', now: NOW, answer: { ok: true, expiresAt: (NOW + 20 * min) / 1000 } }, { token: { token: 't2', expiresAt: NOW + 20 * min }, renewFailures: 0 }, [{ type: 'renewed', expiresAt: NOW + 20 * min }, { type: 'arm', timer: 'refresh', ms: 16 * min }]],
  ['the server refuses it: warned, tried again with backoff', at({ ...live, renewFailures: 1 }), { type: 'renew-answer', generation: 4, token: 't2', now: NOW, answer: { ok: false, message: 'INTERNAL: try again' } }, { renewFailures: 2 }, [{ type: 'renew-refused', message: 'INTERNAL: try again' }, { type: 'arm', timer: 'refresh', backoff: 1 }]],
  ['a renewal token request failed: tried again with backoff', live, { type: 'token-failed', purpose: 'renew', generation: 4, now: NOW }, { renewFailures: 1 }, [{ type: 'arm', timer: 'refresh', backoff: 0 }]],
  ['an answer to a renewal of an earlier connection: nothing', live, { type: 'renew-answer', generation: 3, token: 't2', now: NOW, answer: { ok: true, expiresAt: 1 } }, { token: live.token }, []],

  // Refused for the token.
  ['unauthorized (expired): told, the token dropped, the socket closed', live, { type: 'unauthorized', now: NOW, message: 'the token expired', reason: 'expired', connected: true }, { phase: 'live', token: null }, [{ type: 'unauthorized', during: 'connection', message: 'the token expired', reason: 'expired' }, { type: 'disconnect' }]],
  ['unauthorized (signed out): stopped, then told', live, { type: 'unauthorized', now: NOW, message: 'signed out', reason: 'signed-out', connected: true }, { phase: 'stopped', generation: 5 }, [...stopAll, { type: 'unauthorized', during: 'connection', message: 'signed out', reason: 'signed-out' }]],
  [
    'a handshake refused for its token: told, a fresh token next time, backing off',
    at({ phase: 'connecting', generation: 2, token: { token: 't1', expiresAt: NOW + min * 15 } }),
    { type: 'connect-error', now: NOW, unauthorized: { message: 'UNAUTHORIZED: token expired' } },
    { phase: 'backing-off', token: null, attempt: 1 },
    [{ type: 'unauthorized', during: 'handshake', message: 'UNAUTHORIZED: token expired' }, { type: 'cancel', timer: 'refresh' }, { type: 'forget' }, { type: 'arm', timer: 'reconnect', backoff: 0 }],
  ],
  ['a handshake refused because the session ended: stopped, then told', at({ phase: 'connecting', generation: 2 }), { type: 'connect-error', now: NOW, unauthorized: { message: 'signed out', reason: 'password-reset' } }, { phase: 'stopped', generation: 3 }, [...stopAll, { type: 'unauthorized', during: 'handshake', message: 'signed out', reason: 'password-reset' }]],

  // Stopping and counting.
  ['stop: every timer cancelled, listeners let go, the socket closed', live, { type: 'stop' }, { phase: 'stopped', generation: 5 }, stopAll],
  ['a subscription caught up: added to the last catch-up', at({ ...live, lastCatchUp: 2 }), { type: 'caught-up', changes: 3 }, { lastCatchUp: 5 }, []],
])('%s', (_name, state, event, next, effects) => {
  const step = reduceConnection(state, event);
  expect(step.state).toMatchObject(next);
  expect(step.effects).toEqual(effects);
});

describe('reduceConnection', () => {
  test('never changes the state it is given', () => {
    const frozen = Object.freeze({ ...live });
    const step = reduceConnection(frozen, { type: 'disconnected', now: NOW });
    expect(step.state).not.toBe(frozen);
    expect(frozen.phase).toBe('live');
  });
});
