// One pino root per process; components take a child with their own context.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info', base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...base } });
}
