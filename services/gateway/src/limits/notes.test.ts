import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { LIMIT_VARIABLES, LimitNotes, NOTE_WINDOW_MS, dueForLog, limitMessage, type LimitName } from './notes';

describe('the log line of a bound names it and the variable that raises it', () => {
  test.each(Object.entries(LIMIT_VARIABLES) as [LimitName, string][])('%s: %s', (limit, variable) => {
    const message = limitMessage(limit);
    expect(message).toContain(variable);
    if (limit !== 'origin') expect(message).toContain(limit);
    expect(message).not.toContain('a bound');
  });
});

describe('dueForLog: at most one line a window per bound', () => {
  test.each([
    ['never logged', undefined, 1_000, true],
    ['logged a moment ago', 1_000, 1_500, false],
    ['logged just under a window ago', 1_000, 1_000 + NOTE_WINDOW_MS - 1, false],
    ['logged a window ago', 1_000, 1_000 + NOTE_WINDOW_MS, true],
  ])('%s', (_name, last, now, due) => {
    expect(dueForLog(last, now, NOTE_WINDOW_MS)).toBe(due);
  });
});

test('LimitNotes logs the first hit of each bound a window, with who and the variable; the clock is injected', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  let now = 0;
  const notes = new LimitNotes(pino({ level: 'warn' }, sink), () => now);
  notes.hit('subscribes_per_second', { socket: 'a' });
  notes.hit('subscribes_per_second', { socket: 'b' });
  notes.hit('sockets_per_user', { user: 'u' });
  now += NOTE_WINDOW_MS;
  notes.hit('subscribes_per_second', { socket: 'c' });
  expect(lines.map((l) => [l.limit, l.variable, l.socket ?? l.user])).toEqual([
    ['subscribes_per_second', 'SUBSCRIBES_PER_SECOND', 'a'],
    ['sockets_per_user', 'MAX_SOCKETS_PER_USER', 'u'],
    ['subscribes_per_second', 'SUBSCRIBES_PER_SECOND', 'c'],
  ]);
});
