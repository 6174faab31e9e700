import { describe, expect, test } from 'vitest';
import { PROTOCOL_VERSION } from '@realtime/protocol';
import type { Principal } from '@realtime/auth';
import { expiryDelay, protocolRefusal, sameIdentity, splitAck } from './handshake';

describe('protocolRefusal: what a handshake of another protocol is told', () => {
  test.each([
    ['this protocol', PROTOCOL_VERSION, null],
    ['no version: protocol 1', undefined, /sent no version \(protocol 1\): update the client$/],
    ['another number', 1, /sent v: 1: update the client$/],
    ['a long value is cut', 'x'.repeat(100), new RegExp(`sent v: "${'x'.repeat(19)}: update the client$`)],
  ])('%s', (_name, v, expected) => {
    const refusal = protocolRefusal(v);
    if (expected === null) expect(refusal).toBeNull();
    else expect(refusal).toMatch(expected);
  });
});

const ann: Principal = { kind: 'user', userId: 'ann' } as Principal;
const ben: Principal = { kind: 'user', userId: 'ben' } as Principal;
const svc = (projects: string[]): Principal => ({ kind: 'service', grant: { channels: ['*'], projects } }) as Principal;

describe('sameIdentity: a refreshed token goes on with the socket only for the same identity', () => {
  test.each([
    ['the same user', ann, ann, true],
    ['another user', ann, ben, false],
    ['a user, then a service token', ann, svc(['*']), false],
    ['a service token with the same grant', svc(['p1']), svc(['p1']), true],
    ['a service token with another grant', svc(['p1']), svc(['p2']), false],
    ['a service token, then a user', svc(['*']), ann, false],
  ])('%s', (_name, was, now, same) => {
    expect(sameIdentity(was, now)).toBe(same);
  });
});

describe('splitAck: the acknowledgement is the last argument', () => {
  const ack = () => undefined;
  test.each([
    ['payload and ack', [{ a: 1 }, ack], [{ a: 1 }, ack]],
    ['ack alone', [ack], [undefined, ack]],
    ['two payloads and an ack', [1, 2, ack], [1, ack]],
    ['payload without ack', [{ a: 1 }], [{ a: 1 }, null]],
    ['nothing', [], [undefined, null]],
  ])('%s', (_name, args, expected) => {
    expect(splitAck(args)).toEqual(expected);
  });
});

describe('expiryDelay: when an unrefreshed token ends its socket', () => {
  test.each([
    ['no expiry', null, 0, null],
    ['in a minute', 1_060, 1_000_000, 60_000],
    ['past already: at once', 900, 1_000_000, 0],
    ['years away: the longest a timer waits', 4_000_000_000, 0, 2 ** 31 - 1],
  ])('%s', (_name, expiresAt, now, delay) => {
    expect(expiryDelay(expiresAt, now)).toBe(delay);
  });
});
