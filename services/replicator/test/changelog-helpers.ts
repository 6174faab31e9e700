// What the change log tests share: a real redis-server of their own, appenders on real
// replicators, a reader of the whole stream, and the outbox to hold it against.
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { ChangeLog } from '@realtime/changelog';
import { fingerprint, fingerprintInputSql } from '@realtime/db';
import { createLogger, type Logger } from '@realtime/runtime';
import { startRedis, type RunningRedis } from '@realtime/testkit';
import { ChangeLogAppender, type ChangeLogAppenderOptions } from '../src/changelog/appender';
import type { ReplicatorLike } from '../src/replicator';
import { quietLog, waitFor } from './helpers';

export interface RedisFixture {
  redis: RunningRedis;
  /** A reader of its own per test (its prefix), closed after the file. */
  reader(prefix: string): Promise<ChangeLog>;
  /** An appender on `replicator`, with fast periods for tests; stopped after the file unless stopped before. */
  appender(replicator: ReplicatorLike, pool: pg.Pool, prefix: string, over?: Partial<ChangeLogAppenderOptions>): ChangeLogAppender;
}

/** A redis-server on a free port and a temporary folder, started for this file and stopped after it. */
export function useRedis(): RedisFixture {
  const logs: ChangeLog[] = [];
  const appenders: ChangeLogAppender[] = [];
  const fx = {
    async reader(prefix: string) {
      const l = new ChangeLog({ url: fx.redis.url, prefix, retention: { maxLen: 1_000_000 }, log: quietLog });
      logs.push(l);
      await l.connect();
      return l;
    },
    appender(replicator: ReplicatorLike, pool: pg.Pool, prefix: string, over: Partial<ChangeLogAppenderOptions> = {}) {
      const changelog = new ChangeLog({ url: fx.redis.url, prefix, retention: { maxLen: 1_000_000 }, log: quietLog });
      const a = new ChangeLogAppender({ replicator, pool, changelog, log: quietLog, reconcileEveryMs: 200, opTimeoutMs: 1000, retryMs: 100, ...over });
      appenders.push(a);
      return a;
    },
  } as RedisFixture;
  beforeAll(async () => {
    fx.redis = await startRedis();
  });
  afterAll(async () => {
    for (const a of appenders) await a.stop().catch(() => undefined);
    for (const l of logs) await l.close().catch(() => undefined);
    await fx.redis?.stop();
  });
  return fx;
}

/** A logger whose lines a test reads (JSON, one per line). */
export function capturedLog(): { log: Logger; lines: () => { msg: string; level: number }[] } {
  const raw: string[] = [];
  const log = createLogger('info', { service: 'test' }, { format: 'json', sink: (line) => raw.push(line) });
  return { log, lines: () => raw.map((l) => JSON.parse(l) as { msg: string; level: number }) };
}

/** Every entry of a stream as [seq, fp], in order. */
export async function streamEntries(log: ChangeLog, key: string): Promise<[number, string][]> {
  const out: [number, string][] = [];
  let after = 0;
  for (;;) {
    const page = await log.range(key, after, 5000);
    if (page.length === 0) return out;
    for (const c of page) out.push([c.seq, c.fp]);
    after = page[page.length - 1]!.seq;
  }
}

/** The outbox's stamped changes as [seq, fp] with seq in [from, to]. */
export async function outboxEntries(pool: pg.Pool, from: number, to: number): Promise<[number, string][]> {
  const { rows } = await pool.query<{ seq: string; input: string }>(`SELECT seq::text AS seq, ${fingerprintInputSql()} AS input FROM change_outbox c WHERE c.seq BETWEEN $1 AND $2 ORDER BY c.seq`, [from, to]);
  return rows.map((r) => [Number(r.seq), fingerprint(r.input)]);
}

export async function outboxHeadOf(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ head: string }>(`SELECT coalesce(max(seq), 0)::text AS head FROM change_outbox`);
  return Number(rows[0]!.head);
}

/** Waits until `current` names a stream whose last seq is the outbox head, and returns that key and head. */
export async function untilCaughtUp(log: ChangeLog, pool: pg.Pool, timeoutMs = 60_000): Promise<{ key: string; head: number }> {
  return waitFor(
    'the change log to reach the outbox head',
    async () => {
      const key = await log.current();
      if (key === null) return false;
      const head = await outboxHeadOf(pool);
      return (await log.lastOf(key))?.seq === head && head > 0 ? { key, head } : false;
    },
    timeoutMs,
    100,
  );
}

/**
 * The stream holds every seq from its first to `head` once, in order, each with the
 * outbox's fingerprint; returns its first seq.
 */
export async function expectStreamMatchesOutbox(log: ChangeLog, pool: pg.Pool, key: string, head: number): Promise<number> {
  const entries = await streamEntries(log, key);
  expect(entries.length).toBeGreaterThan(0);
  const first = entries[0]![0];
  expect(entries.map(([s]) => s), 'dense, no duplicates, up to the head').toEqual(Array.from({ length: head - first + 1 }, (_, i) => first + i));
  expect(entries, "the outbox's fingerprints").toEqual(await outboxEntries(pool, first, head));
  return first;
}
