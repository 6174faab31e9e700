import { describe, expect, test } from 'vitest';
import { describeIssues, subscribeSchema, unsubscribeSchema } from './validate';

describe('subscribeSchema', () => {
  test.each([
    [{ channel: 'projects' }],
    [{ channel: 'extraction_jobs', filter: { project_id: 'a1' }, since: 0 }],
    [{ channel: 'extraction_jobs', filter: { status: 'queued', progress: 5, visible: true, error: null } }],
    [{ channel: 'projects', cursor: 'abc' }],
    [{ channel: 'projects', cursor: 'abc', since: 7 }],
    [{ channel: 'extraction_jobs', filter: { projectId: 'p', status: 'queued' } }],
    [{ channel: 'projects', since: 7, fp: 'AbC-_0123456' }],
    [{ channel: 'projects', cursor: 'abc', since: 7, fp: 'AbC-_0123456' }],
  ])('accepts %j', (msg) => {
    expect(subscribeSchema.safeParse(msg).success).toBe(true);
  });

  test.each([
    [null, /expected object/],
    ['projects', /expected object/],
    [{}, /channel/],
    [{ channel: '' }, /channel/],
    [{ channel: 'projects', since: -1 }, /since/],
    [{ channel: 'projects', since: 1.5 }, /since/],
    [{ channel: 'projects', since: '3' }, /since/],
    [{ channel: 'projects', filter: { 'Project-Id': 'x' } }, /field names, like projectId/],
    [{ channel: 'projects', filter: { project_id: { $ne: 1 } } }, /filter/],
    [{ channel: 'projects', filter: { project_id: 'x'.repeat(201) } }, /filter/],
    [{ channel: 'projects', extra: 1 }, /extra|Unrecognized/i],
    [{ channel: 'projects', since: 1, cursor: '' }, /cursor/],
    [{ channel: 'projects', since: 1, fp: 'not base64url!' }, /fp: a fingerprint/],
    [{ channel: 'projects', since: 1, fp: 'x'.repeat(65) }, /fp/],
    [{ channel: 'projects', since: 1, fp: 12 }, /fp/],
  ])('refuses %j, naming the field', (msg, message) => {
    const r = subscribeSchema.safeParse(msg);
    expect(r.success).toBe(false);
    if (!r.success) expect(describeIssues(r.error)).toMatch(message);
  });
});

test('unsubscribeSchema', () => {
  expect(unsubscribeSchema.safeParse({ id: 's1' }).success).toBe(true);
  expect(unsubscribeSchema.safeParse({ id: 1 }).success).toBe(false);
  expect(unsubscribeSchema.safeParse({}).success).toBe(false);
});
