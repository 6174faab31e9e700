import { describe, expect, test } from 'vitest';
import { decodeMemberAfter, encodeMemberAfter, membersPageQuery, pageOf } from './members-page';

describe('the members page position', () => {
  test.each(['ann@example.com', 'a.b+c@x.y', 'δ@example.com'])('%s goes there and back', (email) => {
    expect(decodeMemberAfter(encodeMemberAfter(email))).toEqual({ ok: true, email });
  });
  test.each([
    ['not base64url', 'a b'],
    ['not an email', encodeMemberAfter('nobody')],
    ['upper case (no email in users is)', encodeMemberAfter('Ann@example.com')],
    ['padded base64', `${encodeMemberAfter('ann@example.com')}=`],
    ['too long', 'A'.repeat(601)],
  ])('refused: %s', (_why, raw) => {
    const d = decodeMemberAfter(raw);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.message).toMatch(/page\.next/);
  });
});

describe('membersPageQuery', () => {
  test.each([
    [{}, { limit: 100 }],
    [{ limit: '2' }, { limit: 2 }],
    [{ limit: '500', after: encodeMemberAfter('bob@example.com') }, { limit: 500, after: 'bob@example.com' }],
  ])('%j reads as %j', (query, expected) => {
    expect(membersPageQuery.parse(query)).toEqual(expected);
  });
  test.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '501' }, 'limit'],
    [{ offset: '10' }, 'offset is no longer supported: page with after'],
    [{ after: 'zz!' }, 'not a page.next'],
    [{ role: 'owner' }, 'role'],
  ])('%j is refused, naming %s', (query, what) => {
    const r = membersPageQuery.safeParse(query);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(what);
  });
});

test('pageOf: limit + 1 rows read make a page with a next; fewer end the list', () => {
  const rows = ['a@x', 'b@x', 'c@x'].map((email) => ({ email }));
  expect(pageOf(rows, 2)).toEqual({ items: rows.slice(0, 2), next: encodeMemberAfter('b@x') });
  expect(pageOf(rows, 3)).toEqual({ items: rows, next: null });
});
