// The write queue's transitions as tables: the entries, an event, the entries after and
// the effects; then what the shell does next, and how an answer is read. No server, no
// store, no timers.
import { describe, expect, test } from 'vitest';
import type { WriteEntry, WriteEvent } from './entry.js';
import { initialQueue, nextExpiry, nextStep, reduceQueue, trimConfirmed, type QueueEffect, type QueueEvent, type QueueState } from './machine.js';
import { answerOf, type Answer } from './policy.js';
import { defaultRest, type RestConvention } from './rest.js';

const NOW = 1_000_000;
const config = { backoff: { baseMs: 100, maxMs: 1000, jitter: 0 }, maxRetryAfterMs: 5000, sentTtlMs: 60_000, keepConfirmed: 1 };
const entry = (id: string, patch: Partial<WriteEntry> = {}): WriteEntry => ({ id, kind: 'update', resource: 'projects', rowId: 'r1', body: { name: id }, state: 'queued', attempts: 0, createdAt: 1, ...patch });
const queue = (entries: WriteEntry[], pausedBy: QueueState['pausedBy'] = null): QueueState => ({ ...initialQueue(config), entries, pausedBy });
const emit = (event: WriteEvent): QueueEffect => ({ type: 'emit', event });
const answered = (id: string, answer: Answer, streamed = false): QueueEvent => ({ type: 'answered', id, answer, now: NOW, streamed, jitter: 0.5 });
const err = { status: 503, message: 'busy' };

const a = entry('a', { state: 'sending' });
const b = entry('b', { baseVersion: 1 });
const sent = entry('s', { state: 'sent', txid: '77', respondedAt: NOW - 10 });
const failed = entry('f', { state: 'failed', error: { status: 422, message: 'no' }, respondedAt: 5 });
const conflict = entry('c', { state: 'conflict', baseVersion: 2, error: { status: 409, message: 'changed' }, current: { id: 'r1', version: 5 } });

type Row = [string, QueueState, QueueEvent, [string, string][] | null, QueueEffect[], boolean?];

test.each<Row>([
  ['a write is added at the end, and the shell looks for work', queue([a]), { type: 'add', entry: b }, [['a', 'sending'], ['b', 'queued']], [{ type: 'pump' }]],
  ['stored entries go before the ones made since the page loaded', queue([b]), { type: 'loaded', stored: [entry('old')] }, [['old', 'queued'], ['b', 'queued']], [{ type: 'pump' }]],
  ['the head goes on the wire', queue([entry('a', { nextAttemptAt: 5 })]), { type: 'sending', id: 'a' }, [['a', 'sending']], []],
  ['paused while its save was under way: back in line', queue([a]), { type: 'unsent', id: 'a' }, [['a', 'queued']], []],
  ['applied with a txid: sent, waiting for the stream', queue([a]), answered('a', { kind: 'applied', txid: '9', version: 3 }), [['a', 'sent']], [emit({ type: 'sent', entry: { ...a, state: 'sent', txid: '9', version: 3, respondedAt: NOW } })]],
  ['applied, its txid already streamed: confirmed by the stream', queue([a]), answered('a', { kind: 'applied', txid: '9' }, true), [['a', 'confirmed']], [emit({ type: 'confirmed', entry: { ...a, state: 'confirmed', txid: '9', respondedAt: NOW, confirmedAt: NOW }, by: 'stream' })]],
  ['applied without a txid: confirmed by the response', queue([a]), answered('a', { kind: 'applied' }), [['a', 'confirmed']], [emit({ type: 'confirmed', entry: { ...a, state: 'confirmed', respondedAt: NOW, confirmedAt: NOW }, by: 'response' })]],
  [
    'applied at version 2: a later write of the row made against 1 moves to 2',
    queue([entry('a', { state: 'sending', baseVersion: 1 }), b]),
    answered('a', { kind: 'applied', txid: '9', version: 2 }),
    [['a', 'sent'], ['b', 'queued']],
    [emit({ type: 'rebased', entry: { ...b, baseVersion: 2 }, from: 1, to: 2 }), emit({ type: 'sent', entry: { ...entry('a', { baseVersion: 1 }), state: 'sent', txid: '9', version: 2, respondedAt: NOW } })],
  ],
  [
    'a retryable failure: queued again after the backoff step, nothing overtakes it',
    queue([a, b]),
    answered('a', { kind: 'retry', error: err }),
    [['a', 'queued'], ['b', 'queued']],
    [emit({ type: 'retrying', entry: { ...a, state: 'queued', attempts: 1, error: err, nextAttemptAt: NOW + 100 }, delayMs: 100, error: err })],
  ],
  ['Retry-After past the cap: the cap', queue([a]), answered('a', { kind: 'retry', error: err, retryAfterMs: 3_600_000 }), [['a', 'queued']], [emit({ type: 'retrying', entry: { ...a, state: 'queued', attempts: 1, error: err, nextAttemptAt: NOW + 5000 }, delayMs: 5000, error: err })]],
  ['401: the whole queue pauses, the write kept', queue([a, b]), answered('a', { kind: 'unauthorized', error: { status: 401, message: 'sign in' } }), [['a', 'queued'], ['b', 'queued']], [emit({ type: 'paused', reason: 'unauthorized' })]],
  ['409 with the row: conflict', queue([a]), answered('a', { kind: 'conflict', error: { status: 409, message: 'x' }, current: { id: 'r1', version: 4 } }), [['a', 'conflict']], [emit({ type: 'conflict', entry: { ...a, state: 'conflict', error: { status: 409, message: 'x' }, current: { id: 'r1', version: 4 }, respondedAt: NOW } })]],
  ['refused: failed, and the queue goes on', queue([a, b]), answered('a', { kind: 'failed', error: { status: 422, message: 'no' } }), [['a', 'failed'], ['b', 'queued']], [emit({ type: 'failed', entry: { ...a, state: 'failed', error: { status: 422, message: 'no' }, respondedAt: NOW } })]],
  ['an answer for a write no longer on the wire: nothing', queue([b]), answered('b', { kind: 'applied' }), null, [], false],
  ['the stream brings a sent write txid: confirmed', queue([sent]), { type: 'confirm', by: 'stream', txids: new Set(['77']), now: NOW }, [['s', 'confirmed']], [emit({ type: 'confirmed', entry: { ...sent, state: 'confirmed', confirmedAt: NOW }, by: 'stream' })]],
  ['other txids: nothing', queue([sent]), { type: 'confirm', by: 'stream', txids: new Set(['78']), now: NOW }, null, []],
  ['a list read after the answer: confirmed', queue([sent]), { type: 'confirm', by: 'refetch', through: NOW, now: NOW }, [['s', 'confirmed']], [emit({ type: 'confirmed', entry: { ...sent, state: 'confirmed', confirmedAt: NOW }, by: 'refetch' })]],
  ['a list of another resource: nothing', queue([sent]), { type: 'confirm', by: 'refetch', through: NOW, resource: 'tasks', now: NOW }, null, []],
  ['sent longer ago than the ttl: confirmed as expired', queue([sent]), { type: 'confirm', by: 'expired', now: NOW + 60_000 }, [['s', 'confirmed']], [emit({ type: 'confirmed', entry: { ...sent, state: 'confirmed', confirmedAt: NOW + 60_000 }, by: 'expired' })]],
  ['confirmed entries beyond keepConfirmed leave the list', queue([entry('old', { state: 'confirmed', confirmedAt: 1 }), sent]), { type: 'confirm', by: 'stream', txids: new Set(['77']), now: NOW }, [['s', 'confirmed']], [emit({ type: 'confirmed', entry: { ...sent, state: 'confirmed', confirmedAt: NOW }, by: 'stream' })]],
  ['retry a failed write: queued behind the others, cleared', queue([failed, b]), { type: 'retry', id: 'f' }, [['b', 'queued'], ['f', 'queued']], [{ type: 'pump' }]],
  ['retry a waiting write: the wait ends', queue([entry('w', { nextAttemptAt: NOW + 9 })]), { type: 'retry', id: 'w' }, [['w', 'queued']], [{ type: 'pump' }]],
  ['retry a sent write: refused', queue([sent]), { type: 'retry', id: 's' }, null, [], false],
  ['discard a failed write', queue([failed, b]), { type: 'discard', id: 'f' }, [['b', 'queued']], [{ type: 'pump' }]],
  ['discard a write on the wire: refused', queue([a]), { type: 'discard', id: 'a' }, null, [], false],
  ['discard an unknown id: refused', queue([a]), { type: 'discard', id: 'x' }, null, [], false],
  ['keep mine: queued against the current version', queue([conflict]), { type: 'resolve', id: 'c', choice: 'mine' }, [['c', 'queued']], [{ type: 'pump' }]],
  ['take theirs: dropped', queue([conflict, b]), { type: 'resolve', id: 'c', choice: 'theirs' }, [['b', 'queued']], [{ type: 'pump' }]],
  ['resolve what is not in conflict: refused', queue([failed]), { type: 'resolve', id: 'f', choice: 'mine' }, null, [], false],
  ['kick: the head waits no more', queue([entry('w', { nextAttemptAt: NOW + 9 }), b]), { type: 'kick' }, [['w', 'queued'], ['b', 'queued']], [{ type: 'pump' }]],
  ['pause', queue([b]), { type: 'pause' }, null, [emit({ type: 'paused', reason: 'manual' }), { type: 'notify' }]],
  ['pause twice: nothing', queue([b], 'manual'), { type: 'pause' }, null, []],
  ['resume', queue([b], 'unauthorized'), { type: 'resume' }, null, [emit({ type: 'resumed' }), { type: 'notify' }, { type: 'pump' }]],
  ['clear', queue([a, b, sent]), { type: 'clear' }, [], []],
])('%s', (_name, state, event, entries, effects, accepted = true) => {
  const step = reduceQueue(state, event);
  if (entries === null) expect(step.state.entries).toBe(state.entries);
  else expect(step.state.entries.map((e) => [e.id, e.state])).toEqual(entries);
  expect(step.effects).toEqual(effects);
  expect(step.ok).toBe(accepted);
});

describe('the entries each transition leaves', () => {
  test('keep mine on a conflicting create: an update of that row, without the id in its body', () => {
    const create = entry('k', { kind: 'create', state: 'conflict', body: { id: 'r1', name: 'mine' }, current: { id: 'r1', version: '7' } });
    const [again] = reduceQueue(queue([create]), { type: 'resolve', id: 'k', choice: 'mine' }).state.entries;
    expect(again).toEqual({ id: 'k', kind: 'update', resource: 'projects', rowId: 'r1', body: { name: 'mine' }, baseVersion: 7, state: 'queued', attempts: 0, createdAt: 1 });
  });

  test('a 401 leaves the queue paused by it', () => {
    expect(reduceQueue(queue([a]), answered('a', { kind: 'unauthorized', error: { status: 401, message: 'x' } })).state.pausedBy).toBe('unauthorized');
  });
});

test.each<[string, QueueState, boolean, ReturnType<typeof nextStep>]>([
  ['the first queued write goes', queue([sent, b]), true, { type: 'send', entry: b }],
  ['its retry time has not come: wait', queue([entry('w', { nextAttemptAt: NOW + 250 })]), true, { type: 'wait', ms: 250 }],
  ['offline: nothing', queue([b]), false, { type: 'idle' }],
  ['paused: nothing', queue([b], 'manual'), true, { type: 'idle' }],
  ['nothing queued: nothing', queue([sent, failed]), true, { type: 'idle' }],
])('next: %s', (_name, state, online, next) => {
  expect(nextStep(state, NOW, online)).toEqual(next);
});

test('the next expiry is the oldest sent write plus the ttl', () => {
  expect(nextExpiry(queue([sent, entry('t', { state: 'sent', respondedAt: NOW + 5 })]))).toBe(NOW - 10 + 60_000);
  expect(nextExpiry(queue([b]))).toBe(Infinity);
});

const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name] ?? null });
const create = entry('n', { kind: 'create', ownId: true, body: { id: 'r1' } });
/** A convention whose errors are `{ problem, detail, latest }` (RFC 7807-ish). */
const problemJson: RestConvention = {
  url: (resource, id) => `/v2/${resource}${id ? `/${id}` : ''}`,
  readError: (_status, body) => {
    const b = (body ?? {}) as { problem?: string; detail?: string; latest?: Record<string, unknown>; duplicate?: boolean };
    return { code: b.problem, message: b.detail, current: b.latest, idTaken: b.duplicate };
  },
};

test.each<[string, WriteEntry, number, Record<string, string>, unknown, RestConvention, Answer]>([
  ['2xx: the txid, the ETag version, the row', b, 200, { 'realtime-txid': ' 12 ', etag: 'W/"4"' }, { id: 'r1', version: 3 }, defaultRest, { kind: 'applied', txid: '12', version: 4, result: { id: 'r1', version: 3 } }],
  ['2xx without an ETag: the row version', b, 200, {}, { id: 'r1', version: 3 }, defaultRest, { kind: 'applied', version: 3, result: { id: 'r1', version: 3 } }],
  ['503 with Retry-After', b, 503, { 'retry-after': '2' }, undefined, defaultRest, { kind: 'retry', error: { status: 503, message: 'PATCH /x: HTTP 503' }, retryAfterMs: 2000 }],
  ['401', b, 401, {}, { error: { code: 'UNAUTHORIZED', message: 'sign in' } }, defaultRest, { kind: 'unauthorized', error: { status: 401, code: 'UNAUTHORIZED', message: 'sign in' } }],
  ['409 with the current row', b, 409, {}, { error: { code: 'CONFLICT', message: 'moved', current: { id: 'r1', version: 9 } } }, defaultRest, { kind: 'conflict', error: { status: 409, code: 'CONFLICT', message: 'moved' }, current: { id: 'r1', version: 9 } }],
  ['409 "id taken" for an id the queue made: its own earlier attempt', create, 409, {}, { error: { code: 'CONFLICT', message: 'exists', fields: { id: 'taken' } } }, defaultRest, { kind: 'applied' }],
  ['409 "id taken" for an id the caller chose: failed', { ...create, ownId: undefined }, 409, {}, { error: { code: 'CONFLICT', message: 'exists', fields: { id: 'taken' } } }, defaultRest, { kind: 'failed', error: { status: 409, code: 'CONFLICT', message: 'exists' } }],
  ['422', b, 422, {}, { error: { code: 'BAD_REQUEST', message: 'name: too long' } }, defaultRest, { kind: 'failed', error: { status: 422, code: 'BAD_REQUEST', message: 'name: too long' } }],
  ['another convention: its conflict body', b, 409, {}, { problem: 'stale', detail: 'changed', latest: { id: 'r1', version: 2 } }, problemJson, { kind: 'conflict', error: { status: 409, code: 'stale', message: 'changed' }, current: { id: 'r1', version: 2 } }],
  ['another convention: the default body means nothing to it', b, 422, {}, { error: { code: 'BAD_REQUEST', message: 'x' } }, problemJson, { kind: 'failed', error: { status: 422, message: 'PATCH /x: HTTP 422' } }],
])('answer: %s', (_name, e, status, h, body, rest, answer) => {
  expect(answerOf(e, { status, headers: headers(h), body }, rest, 'PATCH /x', NOW)).toEqual(answer);
});

describe('trimConfirmed keeps the newest confirmed entries', () => {
  const entry = (id: string, state: WriteEntry['state'], confirmedAt?: number): WriteEntry =>
    ({ id, kind: 'create', resource: 'projects', rowId: id, state, attempts: 0, createdAt: 0, ...(confirmedAt === undefined ? {} : { confirmedAt }) }) as WriteEntry;
  test.each([
    ['by confirmation time', [entry('a', 'confirmed', 3), entry('b', 'confirmed', 1), entry('c', 'confirmed', 2)], 1, ['a']],
    // Confirmed in the same millisecond (answers a moment apart): the later write is the newer.
    ['ties by queue order, the later kept', [entry('a', 'confirmed', 5), entry('b', 'confirmed', 5), entry('c', 'confirmed', 5)], 1, ['c']],
    ['ties, keeping two', [entry('a', 'confirmed', 5), entry('b', 'confirmed', 5), entry('c', 'confirmed', 5)], 2, ['b', 'c']],
    ['unconfirmed ones stay whatever their number', [entry('a', 'queued'), entry('b', 'confirmed', 1), entry('c', 'sent'), entry('d', 'confirmed', 1)], 1, ['a', 'c', 'd']],
    ['keep 0: no confirmed entry stays', [entry('a', 'confirmed', 1), entry('b', 'queued')], 0, ['b']],
  ] as const)('%s', (_why, list, keep, ids) => {
    expect(trimConfirmed(list as unknown as WriteEntry[], keep).map((e) => e.id)).toEqual(ids);
  });
});
