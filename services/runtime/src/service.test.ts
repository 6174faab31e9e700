import { describe, expect, test } from 'vitest';
import { createLogger } from './log';
import { HEALTHY, processHealth, startServices, type Health, type Service } from './service';

const part = (name: string, health: Health) => ({ name, health: () => health });

describe('processHealth', () => {
  test.each([
    { why: 'not migrated', migrated: false, parts: [part('api', HEALTHY)], want: { ok: false, reason: 'the database is not migrated yet' } },
    { why: 'no parts, migrated', migrated: true, parts: [], want: HEALTHY },
    { why: 'every part healthy', migrated: true, parts: [part('gateway', HEALTHY), part('api', HEALTHY)], want: HEALTHY },
    { why: 'the first unhealthy part says why', migrated: true, parts: [part('gateway', HEALTHY), part('replicator', { ok: false, reason: 'replicator is starting' }), part('api', { ok: false, reason: 'later' })], want: { ok: false, reason: 'replicator is starting' } },
    { why: 'a part without a reason is named', migrated: true, parts: [part('api', { ok: false, reason: null })], want: { ok: false, reason: 'api is not ready' } },
  ])('$why', ({ migrated, parts, want }) => {
    expect(processHealth(migrated, parts)).toEqual(want);
  });
});

describe('startServices', () => {
  const log = createLogger('silent');
  const recorder = (events: string[], failStart?: string) => (name: string): Service => ({
    name,
    async start() {
      if (name === failStart) throw new Error(`${name} failed`);
      events.push(`start ${name}`);
    },
    async stop() {
      events.push(`stop ${name}`);
    },
    health: () => HEALTHY,
  });

  test('starts in order and stops in reverse', async () => {
    const events: string[] = [];
    const stop = await startServices(['replicator', 'gateway', 'api'].map(recorder(events)), log);
    await stop();
    expect(events).toEqual(['start replicator', 'start gateway', 'start api', 'stop api', 'stop gateway', 'stop replicator']);
  });

  test('a failed start stops what started, then fails', async () => {
    const events: string[] = [];
    await expect(startServices(['replicator', 'gateway', 'api'].map(recorder(events, 'api')), log)).rejects.toThrow('api failed');
    expect(events).toEqual(['start replicator', 'start gateway', 'stop gateway', 'stop replicator']);
  });
});
