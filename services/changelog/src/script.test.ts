import { describe, expect, test } from 'vitest';
import { redactUrl } from './errors';
import { parseAppendReply } from './script';

describe('parseAppendReply', () => {
  test.each([
    [['ok', 3, 1], { kind: 'ok', appended: 3, skipped: 1 }],
    [['gap', 41], { kind: 'gap', gapAfter: 41 }],
    [['not-current', 'realtime:log:b'], { kind: 'not-current', current: 'realtime:log:b' }],
    [['not-current', ''], { kind: 'not-current', current: null }],
  ])('%j', (reply, want) => {
    expect(parseAppendReply(reply)).toEqual(want);
  });
  test.each([[null], ['OK'], [['ok', '3', 1]], [['nope']]])('%j is refused', (reply) => {
    expect(() => parseAppendReply(reply)).toThrow(/append script answered/);
  });
});

describe('redactUrl', () => {
  test.each([
    ['redis://127.0.0.1:6400', 'redis://127.0.0.1:6400'],
    ['redis://:secret@cache:6379/2', 'redis://:***@cache:6379/2'],
    ['rediss://user:secret@cache:6380', 'rediss://user:***@cache:6380'],
    ['not a url', '<an unparsable Redis URL>'],
  ])('%s', (url, want) => {
    expect(redactUrl(url)).toBe(want);
  });
});
