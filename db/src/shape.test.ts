import { describe, expect, test } from 'vitest';
import { conversionOf, isoTimestamp, numericText, scaleOf, shapeRow, type ShapeTable } from './shape';

const invoices: ShapeTable = {
  columns: [
    { name: 'id', type: 'uuid' },
    { name: 'project_id', type: 'uuid' },
    { name: 'amount', type: 'numeric(12,2)' },
    { name: 'number', type: 'bigint' },
    { name: 'count', type: 'integer' },
    { name: 'ratio', type: 'real' },
    { name: 'meta', type: 'jsonb' },
    { name: 'due_on', type: 'date' },
    { name: 'sent_at', type: 'timestamp(3) without time zone' },
    { name: 'created_at', type: 'timestamp with time zone' },
    { name: 'tags', type: 'text[]' },
  ],
};

describe('shapeRow', () => {
  test.each([
    ['keys camelCase', { project_id: 'p1' }, { projectId: 'p1' }],
    ['timestamptz from a UTC session', { created_at: '2026-11-27T01:02:03.456789+00:00' }, { createdAt: '2026-11-27T01:02:03.456Z' }],
    ['timestamptz from Los Angeles', { created_at: '2026-11-26T17:02:03.456789-08:00' }, { createdAt: '2026-11-27T01:02:03.456Z' }],
    ['timestamptz from India', { created_at: '2026-11-27T06:32:03+05:30' }, { createdAt: '2026-11-27T01:02:03.000Z' }],
    ['infinity passes', { created_at: 'infinity' }, { createdAt: 'infinity' }],
    ['timestamp without time zone is UTC', { sent_at: '2026-11-27T01:02:03.4' }, { sentAt: '2026-11-27T01:02:03.400Z' }],
    ['int8 as a string', { number: 9007199254740991 }, { number: '9007199254740991' }],
    ['int8 in its own text form (migration 0015) keeps every digit', { number: '9007199254740993' }, { number: '9007199254740993' }],
    ['numeric in its own text form keeps its zeros', { amount: '10.00' }, { amount: '10.00' }],
    ['numeric captured as a number (before 0015): padded to its scale', { amount: 12.5 }, { amount: '12.50' }],
    ['int4 and real as numbers', { count: 3, ratio: 0.93 }, { count: 3, ratio: 0.93 }],
    ['jsonb stays an object', { meta: { crs: 'EPSG:4326' } }, { meta: { crs: 'EPSG:4326' } }],
    ['date stays as is', { due_on: '2026-12-01' }, { dueOn: '2026-12-01' }],
    ['arrays stay as they are', { tags: ['a'] }, { tags: ['a'] }],
    ['null stays null', { amount: null, created_at: null }, { amount: null, createdAt: null }],
    ['a column the catalog does not know yet: camelCase, as is', { added_later: '2026-11-27T01:00:00+00:00' }, { addedLater: '2026-11-27T01:00:00+00:00' }],
  ])('%s', (_name, row, expected) => {
    expect(shapeRow(invoices, row)).toEqual(expected);
  });

  test('no row, no row', () => {
    expect(shapeRow(invoices, null)).toBeNull();
  });
});

describe('scaleOf', () => {
  test.each([
    ['numeric(12,2)', 2],
    ['numeric(5)', 0],
    ['numeric', null],
    ['bigint', null],
    ['numeric(12,2)[]', null],
  ])('%s: %s', (type, scale) => {
    expect(scaleOf(type)).toBe(scale);
  });
});

describe('numericText', () => {
  test.each([
    [10, 2, '10.00'],
    [10.5, 2, '10.50'],
    [-0.125, 2, '-0.125'],
    [10, 0, '10'],
    [10, null, '10'],
    [1e21, 2, '1e+21'],
  ])('%s at scale %s: %s', (value, scale, text) => {
    expect(numericText(value, scale)).toBe(text);
  });
});

describe('conversionOf', () => {
  test.each([
    ['timestamp with time zone', 'timestamptz'],
    ['timestamp(6) with time zone', 'timestamptz'],
    ['timestamp without time zone', 'timestamp'],
    ['bigint', 'string'],
    ['numeric', 'string'],
    ['numeric(10,2)', 'string'],
    ['bigint[]', null],
    ['integer', null],
    ['uuid', null],
  ])('%s', (type, expected) => {
    expect(conversionOf(type)).toBe(expected);
  });
});

describe('isoTimestamp', () => {
  test.each([
    ['microseconds, cut not rounded', '2026-11-27T01:02:03.456789+00:00', '2026-11-27T01:02:03.456Z'],
    ['no fraction', '2026-11-27T01:00:00+00:00', '2026-11-27T01:00:00.000Z'],
    ['one digit', '2026-11-27T01:00:00.5+00:00', '2026-11-27T01:00:00.500Z'],
    ['.9999 stays in its second', '2026-11-27T23:59:59.9999+00:00', '2026-11-27T23:59:59.999Z'],
    ['another offset', '2026-11-26T17:02:03.456789-08:00', '2026-11-27T01:02:03.456Z'],
    ['an offset with seconds (local mean time)', '1850-01-01T00:00:00-07:52:58', '1850-01-01T07:52:58.000Z'],
    ['a year before 100', '0050-06-01T00:00:00+00:00', '0050-06-01T00:00:00.000Z'],
    ['a year before 100, another offset', '0050-06-01T00:00:00+01:00', '0050-05-31T23:00:00.000Z'],
    ['infinity is left as it is', 'infinity', 'infinity'],
    ['-infinity too', '-infinity', '-infinity'],
  ])('%s', (_name, value, expected) => {
    expect(isoTimestamp(value)).toBe(expected);
  });

  test('agrees with Date on 10,000 times, in UTC and at an offset', () => {
    for (let i = 0; i < 10_000; i++) {
      const d = new Date(1_700_000_000_000 + i * 987_654.321);
      const micros = String(i % 1000).padStart(3, '0');
      const utc = d.toISOString().replace('Z', `${micros}+00:00`);
      expect(isoTimestamp(utc)).toBe(new Date(utc).toISOString());
      const shifted = new Date(d.getTime() - 8 * 3600_000).toISOString().replace('Z', `${micros}-08:00`);
      expect(isoTimestamp(shifted)).toBe(d.toISOString());
    }
  });
});
