import { describe, expect, test } from 'vitest';
import { dataLayers, extractionJobs } from '@realtime/db/schema';
import { decodeAfter, encodeAfter, parseIsoMs, parseListQuery, parseValue, ListParamError } from './params';
import { listSpecOf } from './spec';

const jobs = listSpecOf('extraction-jobs', extractionJobs, 'id', 'projectId');
const layers = listSpecOf('data-layers', dataLayers, 'id', 'projectId');
const P = '0b6c1a52-8c1e-4f4e-9d55-3e0e8a7c9b10';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('parseValue by kind', () => {
  test.each([
    ['uuid', P.toUpperCase(), P],
    ['integer', '42', '42'],
    ['integer', '-0', '0'],
    ['smallint', '32767', '32767'],
    ['bigint', '9223372036854775807', '9223372036854775807'],
    ['numeric', '12.50', '12.50'],
    ['real', '0.75', '0.75'],
    ['real', '1e-3', '1e-3'],
    ['boolean', 'true', true],
    ['boolean', 'false', false],
    ['timestamp', '2026-12-07T11:00:00.123Z', '2026-12-07 11:00:00.123'],
    ['timestamp', '2026-12-07T11:00:00Z', '2026-12-07 11:00:00.000'],
    ['text', 'anything', 'anything'],
  ] as const)('%s %j → %j', (kind, raw, value) => {
    expect(parseValue({ kind }, raw)).toEqual({ ok: true, value });
  });

  test.each([
    ['uuid', 'nope', /UUID/],
    ['uuid', ["a", "b"], /single value/],
    ['integer', '1.5', /whole number/],
    ['integer', '2147483648', /whole number from -2147483648 to 2147483647/],
    ['smallint', '40000', /32767/],
    ['numeric', '1e3', /decimal/],
    ['real', 'NaN', /number/],
    ['real', 'Infinity', /number/],
    ['boolean', '1', /true or false/],
    ['timestamp', '2026-12-07T11:00:00.123456Z', /milliseconds/],
    ['timestamp', '2026-02-30T11:00:00.000Z', /time/],
    ['timestamp', '2026-12-07 11:00:00', /time/],
    ['unfilterable', '{}', /cannot be compared/],
  ] as const)('%s %j refused', (kind, raw, message) => {
    const r = parseValue({ kind }, raw);
    expect(r.ok).toBe(false);
    expect((r as { message: string }).message).toMatch(message);
  });

  test('a text column with values takes only those', () => {
    expect(parseValue({ kind: 'text', values: ['a', 'b'] }, 'c')).toEqual({ ok: false, message: 'must be one of a, b' });
  });

  test('parseIsoMs agrees with Date on the round trip', () => {
    expect(parseIsoMs('2024-02-29T23:59:59.999Z')).toBe('2024-02-29 23:59:59.999');
    expect(parseIsoMs('2025-02-29T00:00:00.000Z')).toBeNull();
  });
});

describe('parseListQuery', () => {
  test('defaults: 50 newest first, no position, no filter', () => {
    expect(parseListQuery(jobs, {})).toEqual({ limit: 50, order: { by: 'createdAt', desc: true, key: 'id' }, after: null, filters: [] });
  });

  test('filters on any column by its field, each value by its type', () => {
    const q = parseListQuery(jobs, { projectId: P, status: 'failed', progress: '100', limit: '500', orderBy: 'id' });
    expect(q.limit).toBe(500);
    expect(q.order).toEqual({ by: 'id', desc: false, key: 'id' });
    expect(q.filters.map((f) => [f.column.name, f.value])).toEqual([
      ['project_id', P],
      ['status', 'failed'],
      ['progress', '100'],
    ]);
    expect(parseListQuery(layers, { visible: 'false' }).filters.map((f) => f.value)).toEqual([false]);
  });

  test.each([
    [{ offset: '50' }, 'offset', /offset is no longer supported: page with after=<page.next>/],
    [{ limit: '0' }, 'limit', /1 to 500/],
    [{ limit: '501' }, 'limit', /1 to 500/],
    [{ limit: '5.5' }, 'limit', /1 to 500/],
    [{ status: 'done' }, 'status', /one of queued, processing, completed, failed/],
    [{ status: ['failed', 'queued'] }, 'status', /give status once/],
    [{ projectId: 'x' }, 'projectId', /UUID/],
    [{ progress: 'high' }, 'progress', /whole number/],
    [{ project: P }, 'project', /not a parameter of extraction-jobs lists; use limit, orderBy, after, id, projectId, documentName, status/],
    [{ orderBy: 'progress' }, 'orderBy', /cannot be paged by progress \(no index serves that order\); use one of -id, id, -createdAt, createdAt/],
    [{ orderBy: 'startedAt' }, 'orderBy', /it can be null/],
    [{ orderBy: '-size' }, 'orderBy', /no field "size"; use one of/],
    [{ orderBy: ['id', 'id'] }, 'orderBy', /give it once/],
  ] as const)('%j → 400 naming %s', (query, param, message) => {
    let err: unknown;
    try {
      parseListQuery(jobs, query);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ListParamError);
    expect((err as ListParamError).param).toBe(param);
    expect((err as ListParamError).message).toMatch(message);
  });

  test('a json column cannot be a filter, and says which can', () => {
    expect(() => parseListQuery(layers, { metadata: '{}' })).toThrow(/metadata: cannot be filtered by .* filter by id, projectId, name, kind, source, visible/);
  });
});

describe('after: page.next round trips, and nothing else passes', () => {
  const newest = { by: 'createdAt', desc: true, key: 'id' };
  const byId = { by: 'id', desc: false, key: 'id' };

  test('a timestamp position travels as the API prints it and returns in SQL form', () => {
    const next = encodeAfter(newest, jobs, { value: '2026-12-07 11:00:00.123', key: P });
    expect(JSON.parse(Buffer.from(next, 'base64url').toString())).toEqual({ o: '-createdAt', v: '2026-12-07T11:00:00.123Z', k: P });
    expect(decodeAfter(jobs, newest, next)).toEqual({ value: '2026-12-07 11:00:00.123', key: P });
    const id = encodeAfter(byId, jobs, { value: P, key: P });
    expect(decodeAfter(jobs, byId, id)).toEqual({ value: P, key: P });
  });

  test.each([
    ['not base64url', '!!!', /not a page.next of this list/],
    ['not JSON', b64('{'), /not base64url JSON/],
    ['an array', b64([1, 2, 3]), /not a page.next/],
    ['more fields', b64({ o: '-createdAt', v: '2026-12-07T11:00:00.123Z', k: P, x: 1 }), /not a page.next/],
    ['another order', b64({ o: 'id', v: P, k: P }), /ordered by id, not -createdAt: send orderBy=id with it/],
    ['a value of another type', b64({ o: '-createdAt', v: 5, k: P }), /not a createdAt and a id/],
    ['a time finer than the API prints', b64({ o: '-createdAt', v: '2026-12-07T11:00:00.123456Z', k: P }), /not a createdAt/],
    ['SQL in the key', b64({ o: '-createdAt', v: '2026-12-07T11:00:00.123Z', k: "x' OR 1=1 --" }), /not a createdAt and a id/],
    ['a key that is no uuid', b64({ o: '-createdAt', v: '2026-12-07T11:00:00.123Z', k: 7 }), /not a createdAt and a id/],
  ])('%s → 400 naming after', (_name, raw, message) => {
    expect(() => decodeAfter(jobs, newest, raw)).toThrow(message);
    expect(() => decodeAfter(jobs, newest, raw)).toThrow(/^after: /);
  });

  test('by key, value and key must agree', () => {
    expect(() => decodeAfter(jobs, byId, b64({ o: 'id', v: P, k: P.replace('0b', '0c') }))).toThrow(/after: /);
  });
});
