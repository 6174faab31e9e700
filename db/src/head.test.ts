import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { fingerprint, fingerprintInput, fingerprintInputSql } from './head';

describe('fingerprint input: the text the SQL and the replicator both spell', () => {
  const cases: [Parameters<typeof fingerprintInput>, string][] = [
    [[1, '745', 1795792494123456n], '1:745:1795792494123456'],
    [['12', 745n, '1795792494000000'], '12:745:1795792494000000'],
    [[9007199254740993n, '18446744073709551615', 0n], '9007199254740993:18446744073709551615:0'],
  ];
  for (const [args, text] of cases) test(text, () => expect(fingerprintInput(...args)).toBe(text));

  test('the SQL: id, txid and the commit time in whole microseconds, joined by colons, with or without an alias', () => {
    expect(fingerprintInputSql()).toBe(`(id::text || ':' || txid::text || ':' || coalesce(((extract(epoch from committed_at) * 1000000)::bigint)::text, ''))`);
    expect(fingerprintInputSql('c')).toContain('c.id::text');
    expect(fingerprintInputSql('c')).toContain('extract(epoch from c.committed_at)');
  });
});

describe('fingerprint', () => {
  test('12 base64url characters of sha256', () => {
    const input = '1:745:1795792494123456';
    expect(fingerprint(input)).toBe(createHash('sha256').update(input).digest('base64url').slice(0, 12));
    expect(fingerprint(input)).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });
  test('any input changed gives another: the same id and txid after a rollback, a later commit', () => {
    const before = fingerprint(fingerprintInput(40, '800', 1795792494123456n));
    expect(fingerprint(fingerprintInput(40, '800', 1795792494123457n))).not.toBe(before);
    expect(fingerprint(fingerprintInput(41, '800', 1795792494123456n))).not.toBe(before);
    expect(fingerprint(fingerprintInput(40, '801', 1795792494123456n))).not.toBe(before);
    expect(fingerprint(fingerprintInput(40, '800', 1795792494123456n))).toBe(before);
  });
});
