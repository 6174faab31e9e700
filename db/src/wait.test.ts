import { describe, expect, it } from 'vitest';
import { isTransientConnectError } from './wait';

describe('isTransientConnectError', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }, true],
    [{ code: '57P03', message: 'the database system is starting up' }, true],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, true],
    [{ message: 'Connection terminated unexpectedly' }, true],
    [{ message: 'timeout expired' }, true],
    [{ code: '28P01', message: 'password authentication failed for user "x"' }, false],
    [{ code: '3D000', message: 'database "nope" does not exist' }, false],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db' }, false],
    [null, false],
  ])('%j -> %s', (err, transient) => {
    expect(isTransientConnectError(err)).toBe(transient);
  });
});
