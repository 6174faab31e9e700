import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { createSchemaFactory } from 'drizzle-zod';
import { dataLayers, extractionJobs, projects } from '@realtime/db/schema';
import { JSON_LIMIT, TEXT_LIMIT, jsonSize, textLimits } from './text';

const { createInsertSchema, createUpdateSchema } = createSchemaFactory({ coerce: { date: true } });
const insert = (table: Parameters<typeof textLimits>[0]) => createInsertSchema(table as never, textLimits(table) as never) as unknown as z.ZodObject;

describe('textLimits', () => {
  test('bounds free text and json columns, leaves enums, uuids, numbers alone', () => {
    expect(Object.keys(textLimits(projects)).sort()).toEqual(['description', 'name']);
    expect(Object.keys(textLimits(extractionJobs)).sort()).toEqual(['documentName', 'error']);
    expect(Object.keys(textLimits(dataLayers)).sort()).toEqual(['metadata', 'name', 'source']);
  });

  const projectId = '00000000-0000-4000-8000-000000000000';
  test.each([
    ['name of the limit', { name: 'x'.repeat(TEXT_LIMIT) }, null],
    ['name one over', { name: 'x'.repeat(TEXT_LIMIT + 1) }, `name: at most ${TEXT_LIMIT} characters`],
    ['description one over', { name: 'p', description: 'é'.repeat(TEXT_LIMIT + 1) }, `description: at most ${TEXT_LIMIT} characters`],
    ['status stays an enum', { name: 'p', status: 'x'.repeat(20) }, 'status:'],
  ])('projects: %s', (_name, body, error) => {
    const r = insert(projects).safeParse(body);
    if (error === null) expect(r.success).toBe(true);
    else expect(r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toContain(error);
  });

  // {"k":"..."} is 8 characters around the string.
  test.each([
    ['small metadata', { a: 1 }, true],
    ['metadata at the limit', { k: 'x'.repeat(JSON_LIMIT - 8) }, true],
    ['metadata one over', { k: 'x'.repeat(JSON_LIMIT - 7) }, false],
  ])('data layers: %s', (_name, metadata, ok) => {
    const body = { projectId, name: 'l', kind: 'vector', source: 's', metadata };
    const r = insert(dataLayers).safeParse(body);
    expect(r.success).toBe(ok);
    if (!ok) expect(r.error?.issues[0]?.path).toEqual(['metadata']);
  });

  test('metadata nested deeper than the JSON depth limit is refused, without overflowing the stack', () => {
    let metadata: unknown = 1;
    for (let i = 0; i < 10_000; i++) metadata = { k: metadata };
    const r = insert(dataLayers).safeParse({ projectId, name: 'l', kind: 'vector', source: 's', metadata });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['metadata']);
  });

  test('the sizes above are what they claim', () => {
    expect(jsonSize({ k: 'x'.repeat(JSON_LIMIT - 8) })).toBe(JSON_LIMIT);
  });

  test('updates are bounded the same way', () => {
    const update = createUpdateSchema(projects, textLimits(projects) as never) as unknown as z.ZodObject;
    expect(update.safeParse({ name: 'x'.repeat(TEXT_LIMIT + 1) }).success).toBe(false);
    expect(update.safeParse({}).success).toBe(true);
  });

  test.each([
    [{ k: 'v' }, 9],
    ['é', 3],
    [null, 4],
    [undefined, 0],
  ])('jsonSize(%j) = %i', (value, size) => {
    expect(jsonSize(value)).toBe(size);
  });
});
