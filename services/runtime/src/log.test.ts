import fs from 'node:fs';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { pino } from 'pino';
import { LOSS_GRACE_MS, chooseLogFormat, connectionLost, createLogger, logStyleOf, writeForeignLine } from './log';
import { adoptStopFlag, stopFlagBuffer } from './process';

describe('chooseLogFormat', () => {
  test.each([
    { setting: undefined, isTTY: true, want: 'pretty', why: 'a person at a terminal' },
    { setting: undefined, isTTY: false, want: 'json', why: 'a pipe or a file' },
    { setting: undefined, isTTY: undefined, want: 'json', why: 'no terminal at all (a worker, a service manager)' },
    { setting: 'json', isTTY: true, want: 'json', why: 'LOG_FORMAT=json on a terminal' },
    { setting: 'pretty', isTTY: false, want: 'pretty', why: 'LOG_FORMAT=pretty into a pipe' },
    { setting: 'pretty', isTTY: true, want: 'pretty', why: 'LOG_FORMAT=pretty on a terminal' },
    { setting: 'json', isTTY: false, want: 'json', why: 'LOG_FORMAT=json into a pipe' },
  ] as const)('$why: $want', ({ setting, isTTY, want }) => {
    expect(chooseLogFormat(setting, isTTY)).toBe(want);
  });
});

describe('logStyleOf', () => {
  test('a child answers its root’s style, so a worker thread writes like its process', () => {
    const root = createLogger('silent', {}, { format: 'pretty', color: false });
    expect(logStyleOf(root.child({ component: 'replicator' }))).toEqual({ format: 'pretty', color: false });
    expect(logStyleOf(createLogger('silent', {}, { format: 'json' }))).toMatchObject({ format: 'json' });
  });

  test('a logger made elsewhere counts as JSON', async () => {
    const { pino } = await import('pino');
    expect(logStyleOf(pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })))).toEqual({ format: 'json', color: false });
  });
});

const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('connectionLost', () => {
  test.each([
    { name: 'the server shut down (Ctrl-C, pg_ctl stop)', err: pgError('terminating connection due to administrator command', '57P01'), want: true },
    { name: 'a server that is shutting down refuses', err: pgError('the database system is shutting down', '57P03'), want: true },
    { name: 'the socket closed', err: pgError('Connection terminated unexpectedly'), want: true },
    { name: 'nothing listens', err: pgError('connect ECONNREFUSED 127.0.0.1:54329', 'ECONNREFUSED'), want: true },
    { name: 'wrapped by drizzle (the cause is the loss)', err: new Error('Failed query: rollback', { cause: pgError('Connection terminated unexpectedly') }), want: true },
    { name: 'a query on a client whose connection already failed (the loss seen second-hand)', err: new Error('Failed query: rollback', { cause: pgError('Client has encountered a connection error and is not queryable') }), want: true },
    { name: 'a statement error', err: pgError('duplicate key value violates unique constraint', '23505'), want: false },
    { name: 'a statement timeout', err: pgError('canceling statement due to statement timeout', '57014'), want: false },
    { name: 'not an error', err: 'Connection terminated', want: false },
    { name: 'nothing', err: undefined, want: false },
  ])('$name: $want', ({ err, want }) => {
    expect(connectionLost(err)).toBe(want);
  });
});

describe('a lost connection in the log', () => {
  // The logger writes to fd 1 synchronously (fs.writeSync); the stop flag is process-wide,
  // so each test gives the process a fresh one and puts the old one back. Fake timers
  // stand for the grace: no test waits for it.
  const lines: { level: number; msg: string }[] = [];
  let restoreFlag: SharedArrayBuffer;
  let flag: Int32Array;
  beforeEach(() => {
    lines.length = 0;
    restoreFlag = stopFlagBuffer();
    flag = new Int32Array(new SharedArrayBuffer(4));
    adoptStopFlag(flag.buffer as SharedArrayBuffer);
    vi.useFakeTimers();
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: string | Uint8Array) => {
      const text = typeof data === 'string' ? data : Buffer.from(data).toString();
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
      return text.length;
    }) as typeof fs.writeSync);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
    adoptStopFlag(restoreFlag);
  });
  const logLoss = () => {
    const log = createLogger('info', {}, { format: 'json' });
    log.warn({ err: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) }, 'lost');
    log.warn('not a loss');
  };

  test('is reported at its level when the process does not stop within the grace', () => {
    logLoss();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, 'not a loss']]);
    vi.advanceTimersByTime(LOSS_GRACE_MS);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, 'not a loss'], [40, 'lost']]);
  });

  test('is quiet when the process begins to stop within the grace (Ctrl-C reached Postgres first)', () => {
    logLoss();
    vi.advanceTimersByTime(LOSS_GRACE_MS - 1);
    Atomics.store(flag, 0, 1);
    vi.advanceTimersByTime(1);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, 'not a loss']]);
  });

  test('is quiet when the process is stopping already', () => {
    Atomics.store(flag, 0, 1);
    logLoss();
    vi.runAllTimers();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, 'not a loss']]);
  });
});

describe('a worker thread\'s lines', () => {
  test('a logger with a sink hands it each JSON line and writes nothing itself', () => {
    const lines: string[] = [];
    const log = createLogger('info', { service: 'replicator' }, { format: 'pretty', sink: (l) => lines.push(l) });
    log.child({ component: 'replicator' }).info('replicator stopped');
    log.debug('below the level');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'replicator', component: 'replicator', msg: 'replicator stopped' });
  });

  test('the parent writes them through its own stream, in order with its own lines', () => {
    const out: string[] = [];
    const parent = pino({ base: null, timestamp: false }, { write: (s: string) => void out.push(s) });
    const child = parent.child({ component: 'replicator thread' });
    parent.info('stopping');
    writeForeignLine(child, '{"msg":"replicator stopped"}\n');
    parent.info('stopped');
    expect(out.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['stopping', 'replicator stopped', 'stopped']);
  });
});
