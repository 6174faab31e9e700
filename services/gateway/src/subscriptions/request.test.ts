import { describe, expect, test } from 'vitest';
import type { Filter } from '@realtime/protocol';
import { refusalAnswer, resumePoint, subscribeVerdict, type Refusal } from './request';

describe('refusalAnswer: what a refused subscribe answers, naming the fix', () => {
  test.each([
    [{ kind: 'rate', perSecond: 20 }, 'RATE_LIMITED', /at most 20 subscribes a second per connection \(SUBSCRIBES_PER_SECOND\)/],
    [{ kind: 'size', maxBytes: 16384 }, 'BAD_REQUEST', /larger than 16384 bytes/],
    [{ kind: 'depth', maxDepth: 64 }, 'BAD_REQUEST', /deeper than 64 levels/],
    [{ kind: 'unknown-channel', channel: 'nope', channels: ['tasks', 'projects'] }, 'UNKNOWN_CHANNEL', /unknown channel "nope"; channels: tasks, projects/],
    [{ kind: 'too-many', max: 100 }, 'TOO_MANY_SUBSCRIPTIONS', /at most 100 subscriptions per connection \(MAX_SUBSCRIPTIONS_PER_SOCKET\)/],
    [{ kind: 'forbidden', message: 'you are not a member of project p9' }, 'FORBIDDEN', /^you are not a member of project p9$/],
    [{ kind: 'no-ack' }, 'BAD_REQUEST', /needs an acknowledgement callback/],
  ] as [Refusal, string, RegExp][])('%j', (refusal, code, message) => {
    const a = refusalAnswer(refusal);
    expect(a.code).toBe(code);
    expect(a.message).toMatch(message);
  });
});

describe('subscribeVerdict: who may open a subscription', () => {
  const tasks = { name: 'tasks', projectColumn: 'project_id' };
  const member = (p: string) => (p === 'p1' ? 'member' : null);
  test.each([
    ['a user, no project filter: opened (rows come by membership)', { kind: 'user' }, tasks, undefined, true],
    ['a user, a project they are a member of', { kind: 'user' }, tasks, { project_id: 'p1' }, true],
    ['a user, a project they are not a member of', { kind: 'user' }, tasks, { project_id: 'p2' }, 'you are not a member of project p2'],
    ['a user, a project filter that is not a string', { kind: 'user' }, tasks, { project_id: 3 }, 'you are not a member of project 3'],
    ['a user, a table of no project', { kind: 'user' }, { name: 'audit', projectColumn: null }, undefined, /rows of "audit" belong to no project/],
    ['a service token granting the channel', { kind: 'service', grant: { channels: ['tasks'], projects: ['*'] } }, tasks, undefined, true],
    ['a service token not granting the channel', { kind: 'service', grant: { channels: ['projects'], projects: ['*'] } }, tasks, undefined, 'your token does not grant the channel "tasks"'],
    ['a service token, a project it does not grant', { kind: 'service', grant: { channels: ['*'], projects: ['p1'] } }, tasks, { project_id: 'p2' }, 'your token does not grant project p2'],
  ] as const)('%s', (_name, principal, table, filter, expected) => {
    const v = subscribeVerdict(principal as Parameters<typeof subscribeVerdict>[0], table, filter as Filter | undefined, member);
    if (expected === true) return expect(v).toEqual({ ok: true });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.message).toMatch(expected);
  });
});

describe('resumePoint: where a replay starts, and the positions checked before it', () => {
  const cursor = { headSeq: 50, headFp: 'F50' };
  test.each([
    ['nothing given: live from the feed', null, false, undefined, undefined, undefined, []],
    ['since with its fingerprint', null, false, 40, 'F40', 40, [{ seq: 40, fp: 'F40' }]],
    ['since 0: everything', null, false, 0, undefined, 0, [{ seq: 0, fp: null }]],
    ['a cursor alone', cursor, false, undefined, undefined, 50, [{ seq: 50, fp: 'F50' }]],
    ['a cursor and a later since: from since, both checked', cursor, false, 70, 'F70', 70, [{ seq: 50, fp: 'F50' }, { seq: 70, fp: 'F70' }]],
    ['a cursor and an earlier since: from the cursor', cursor, false, 30, 'F30', 50, [{ seq: 50, fp: 'F50' }, { seq: 30, fp: 'F30' }]],
    ['a cursor and since 0: the cursor alone', cursor, false, 0, undefined, 50, [{ seq: 50, fp: 'F50' }]],
    ['a stale cursor alone: from 0 (then resynced)', null, true, undefined, undefined, 0, []],
    ['a stale cursor and since', null, true, 40, 'F40', 40, [{ seq: 40, fp: 'F40' }]],
  ] as const)('%s', (_name, c, stale, since, fp, replayFrom, positions) => {
    expect(resumePoint(c, stale, since, fp)).toEqual({ replayFrom, positions });
  });
});
