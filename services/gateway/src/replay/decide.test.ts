import { describe, expect, test } from 'vitest';
import { replayDecision, type ReplayFacts } from './decide';

// An outbox keeping seqs 11..100 (floor 10), every row there, the client's position 40.
const base: ReplayFacts = {
  since: 40,
  positions: [{ seq: 40, fp: 'F40' }],
  bounds: { head: 100, floor: 10 },
  check: { fps: new Map([[40, 'F40']]), inRange: 60, floor: 10, pendingDigest: null },
  cursor: null,
  joinedAt: 100,
};

describe('replayDecision: replay, or the resync a subscription gets instead', () => {
  test.each([
    ['its position in the history, the range whole: read', base, { kind: 'read', floor: 10 }],
    ['another change at its seq: history changed, logged', { ...base, check: { ...base.check, fps: new Map([[40, 'G40']]) } }, { kind: 'resync', reason: 'history-changed', logged: true }],
    ['a row of its range removed: history changed, logged', { ...base, check: { ...base.check, inRange: 59 } }, { kind: 'resync', reason: 'history-changed', logged: true }],
    ['its range not counted here (the replay counts it at its first outbox page): read', { ...base, check: { ...base.check, inRange: null } }, { kind: 'read', floor: 10 }],
    ['pruned past its position since the bounds were read: retention', { ...base, check: { ...base.check, floor: 45 } }, { kind: 'resync', reason: 'retention', logged: false }],
    ['from 0 with rows pruned: retention', { ...base, since: 0, positions: [{ seq: 0, fp: null }] }, { kind: 'resync', reason: 'retention', logged: false }],
    ['past the head the outbox shows: history changed, not logged', { ...base, since: 120, positions: [] }, { kind: 'resync', reason: 'history-changed', logged: false }],
    ['the feed sent changes the outbox does not show yet: unavailable', { ...base, joinedAt: 105 }, { kind: 'resync', reason: 'unavailable', logged: false }],
    [
      'a cursor whose pending changes are not what was pending: history changed',
      { ...base, cursor: { headSeq: 40, digest: 'D1' }, check: { ...base.check, pendingDigest: 'D2' } },
      { kind: 'resync', reason: 'history-changed', logged: true },
    ],
    ['a cursor whose pending changes match: read', { ...base, cursor: { headSeq: 40, digest: 'D1' }, check: { ...base.check, pendingDigest: 'D1' } }, { kind: 'read', floor: 10 }],
  ] as [string, ReplayFacts, unknown][])('%s', (_name, facts, expected) => {
    expect(replayDecision(facts)).toEqual(expected);
  });
});
