// The session watch without a database or sockets: which changes are ends, one read per
// session, and every order of a session's end against a handshake or a refresh.
import { describe, expect, test } from 'vitest';
import type { Principal } from '@realtime/auth';
import { SessionEndedError, SessionWatch, sessionEnd, type SessionState } from './sessions';

const SID = '11111111-1111-4111-8111-111111111111';
const OTHER_SID = '22222222-2222-4222-8222-222222222222';
const USER = '00000000-0000-4000-8000-000000000001';
const user = (sessionId: string | null, userId = USER): Principal => ({ kind: 'user', userId, sessionId });
const endOf = (sid: string, reason: unknown = 'signed-out') => ({ table: 'session_ends', op: 'INSERT', newRow: { id: sid, user_id: USER, reason, ended_at: 'x' } });

class FakeSocket {
  connected = false;
  constructor(readonly name: string) {}
}

/** A watch whose reads the test answers, and the ends it told sockets. */
function harness(answer: (sid: string) => SessionState = () => ({ live: true, ended: null })) {
  const reads: string[] = [];
  const pending: (() => void)[] = [];
  let hold = false;
  const ended: [string, string][] = [];
  const watch = new SessionWatch<FakeSocket>({
    read: (sid) => {
      reads.push(sid);
      if (!hold) return Promise.resolve(answer(sid));
      return new Promise((resolve) => pending.push(() => resolve(answer(sid))));
    },
    end: (socket, reason) => {
      ended.push([socket.name, reason]);
      socket.connected = false;
    },
  });
  return {
    watch,
    reads,
    ended,
    holdReads: () => (hold = true),
    releaseReads: () => pending.splice(0).forEach((f) => f()),
  };
}

describe('sessionEnd', () => {
  test.each([
    ['an end', endOf(SID), { sid: SID, userId: USER, reason: 'signed-out' }],
    ['a password reset', endOf(SID, 'password-reset'), { sid: SID, userId: USER, reason: 'password-reset' }],
    ['an unknown reason: a plain end', endOf(SID, 'gremlins'), { sid: SID, userId: USER, reason: 'session-ended' }],
    ['another table', { ...endOf(SID), table: 'project_members' }, null],
    ['a delete of an end record (pruning)', { table: 'session_ends', op: 'DELETE', newRow: null }, null],
    ['a row without a session id', { table: 'session_ends', op: 'INSERT', newRow: { user_id: USER, reason: 'signed-out' } }, null],
  ])('%s', (_name, change, expected) => {
    expect(sessionEnd(change)).toEqual(expected);
  });
});

describe('SessionWatch', () => {
  test('sockets without a session are not watched and cost no read', async () => {
    const h = harness();
    await h.watch.attach(new FakeSocket('service'), { kind: 'service', grant: { channels: ['*'], projects: ['*'] } });
    await h.watch.attach(new FakeSocket('oidc'), user(null));
    expect(h.reads).toEqual([]);
    expect(h.watch.size).toBe(0);
  });

  test('one read per session while it has sockets here; its end closes every one of them, and no other', async () => {
    const h = harness();
    const [a, b, c] = [new FakeSocket('a'), new FakeSocket('b'), new FakeSocket('c')];
    for (const s of [a, b]) {
      await h.watch.attach(s, user(SID));
      s.connected = true;
    }
    await h.watch.attach(c, user(OTHER_SID));
    c.connected = true;
    expect(h.reads).toEqual([SID, OTHER_SID]);
    h.watch.apply(endOf(SID, 'signed-out-everywhere'));
    expect(h.ended).toEqual([
      ['a', 'signed-out-everywhere'],
      ['b', 'signed-out-everywhere'],
    ]);
    expect(c.connected).toBe(true);
  });

  test('a session the read finds ended is refused with the reason recorded, and read again next time', async () => {
    const h = harness(() => ({ live: false, ended: 'password-reset' }));
    await expect(h.watch.attach(new FakeSocket('a'), user(SID))).rejects.toThrow(SessionEndedError);
    await expect(h.watch.attach(new FakeSocket('b'), user(SID))).rejects.toMatchObject({ reason: 'password-reset' });
    expect(h.reads).toEqual([SID, SID]);
    expect(h.watch.size).toBe(0);
  });

  test('a session that is gone without a record (expired, never existed) is refused as ended', async () => {
    const h = harness(() => ({ live: false, ended: null }));
    await expect(h.watch.attach(new FakeSocket('a'), user(SID))).rejects.toMatchObject({ reason: 'session-ended' });
  });

  test('an end fed while the read runs refuses the handshake, even if the read saw the session live', async () => {
    const h = harness();
    h.holdReads();
    const a = new FakeSocket('a');
    const attached = h.watch.attach(a, user(SID));
    h.watch.apply(endOf(SID));
    h.releaseReads();
    await expect(attached).rejects.toMatchObject({ reason: 'signed-out' });
    expect(h.ended).toEqual([]);
  });

  test('an end fed between the check and the connection closes the socket once it connects', async () => {
    const h = harness();
    const a = new FakeSocket('a');
    await h.watch.attach(a, user(SID));
    h.watch.apply(endOf(SID));
    expect(h.ended).toEqual([]);
    a.connected = true;
    h.watch.connected(a);
    expect(h.ended).toEqual([['a', 'signed-out']]);
  });

  test('a failed read refuses with a retry, and the next handshake reads again', async () => {
    let fail = true;
    const watch = new SessionWatch<FakeSocket>({
      read: () => (fail ? Promise.reject(new Error('connection refused')) : Promise.resolve({ live: true, ended: null })),
      end: () => undefined,
    });
    await expect(watch.attach(new FakeSocket('a'), user(SID))).rejects.toThrow(/could not check your session \(connection refused\); try again/);
    fail = false;
    await expect(watch.attach(new FakeSocket('b'), user(SID))).resolves.toBeUndefined();
  });

  test('a token pairing a session with another user is refused', async () => {
    const h = harness();
    await h.watch.attach(new FakeSocket('a'), user(SID));
    await expect(h.watch.attach(new FakeSocket('b'), user(SID, '00000000-0000-4000-8000-000000000002'))).rejects.toThrow(SessionEndedError);
  });

  describe('refresh', () => {
    test('the same session costs no read; another live one moves the socket to it, so only its end closes it', async () => {
      const h = harness();
      const a = new FakeSocket('a');
      await h.watch.attach(a, user(SID));
      a.connected = true;
      await h.watch.refresh(a, user(SID));
      expect(h.reads).toEqual([SID]);
      await h.watch.refresh(a, user(OTHER_SID));
      expect(h.reads).toEqual([SID, OTHER_SID]);
      h.watch.apply(endOf(SID));
      expect(h.ended).toEqual([]);
      h.watch.apply(endOf(OTHER_SID));
      expect(h.ended).toEqual([['a', 'signed-out']]);
    });

    test('a token of an ended session is refused and the socket stays with its own', async () => {
      const h = harness((sid) => (sid === OTHER_SID ? { live: false, ended: 'signed-out' } : { live: true, ended: null }));
      const a = new FakeSocket('a');
      await h.watch.attach(a, user(SID));
      a.connected = true;
      await expect(h.watch.refresh(a, user(OTHER_SID))).rejects.toMatchObject({ reason: 'signed-out' });
      h.watch.apply(endOf(SID, 'password-reset'));
      expect(h.ended).toEqual([['a', 'password-reset']]);
    });

    test('an end of the new session fed while its check runs refuses the refresh and leaves the socket open', async () => {
      const h = harness();
      const a = new FakeSocket('a');
      await h.watch.attach(a, user(SID));
      a.connected = true;
      h.holdReads();
      const refreshed = h.watch.refresh(a, user(OTHER_SID));
      h.watch.apply(endOf(OTHER_SID));
      h.releaseReads();
      await expect(refreshed).rejects.toMatchObject({ reason: 'signed-out' });
      expect(h.ended).toEqual([]);
      expect(a.connected).toBe(true);
      h.watch.apply(endOf(SID, 'password-reset'));
      expect(h.ended).toEqual([['a', 'password-reset']]);
    });

    test('a socket of a session cannot shed it with a token that names none', async () => {
      const h = harness();
      const a = new FakeSocket('a');
      await h.watch.attach(a, user(SID));
      await expect(h.watch.refresh(a, user(null))).rejects.toThrow(/names no session/);
    });
  });

  test('before a replay: an end already recorded closes the session at once; a live or merely expired session replays', async () => {
    let state: SessionState = { live: true, ended: null };
    const h = harness(() => state);
    const [a, b] = [new FakeSocket('a'), new FakeSocket('b')];
    for (const s of [a, b]) {
      await h.watch.attach(s, user(SID));
      s.connected = true;
    }
    expect(await h.watch.confirm(a)).toBe(true);
    state = { live: false, ended: null };
    expect(await h.watch.confirm(a)).toBe(true);
    state = { live: false, ended: 'password-reset' };
    expect(await h.watch.confirm(a)).toBe(false);
    expect(h.ended).toEqual([
      ['a', 'password-reset'],
      ['b', 'password-reset'],
    ]);
    // The feed's end comes after: nothing twice.
    h.watch.apply(endOf(SID, 'password-reset'));
    expect(h.ended).toHaveLength(2);
    expect(await h.watch.confirm(new FakeSocket('service'))).toBe(true);
  });

  test('a socket that leaves takes its session with it when it was the last', async () => {
    const h = harness();
    const [a, b] = [new FakeSocket('a'), new FakeSocket('b')];
    await h.watch.attach(a, user(SID));
    await h.watch.attach(b, user(SID));
    h.watch.detach(a);
    expect(h.watch.size).toBe(1);
    h.watch.detach(b);
    expect(h.watch.size).toBe(0);
    await h.watch.attach(new FakeSocket('c'), user(SID));
    expect(h.reads).toEqual([SID, SID]);
  });
});
