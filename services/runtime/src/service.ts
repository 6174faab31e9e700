// One lifecycle for every part of the stream (the replicator, a gateway, the API): a
// composition root builds the parts it runs, starts them in order, and stops them in
// reverse; /healthz answers from their health.
import type { Logger } from './log';

export interface Health {
  ok: boolean;
  /** Why not, for operators (/status, the log); null when ok. */
  reason: string | null;
}

export const HEALTHY: Health = { ok: true, reason: null };

export interface Service {
  /** Names the part in the log and in /status. */
  readonly name: string;
  /** Resolves once the part does its job (a replicator leads or stands by, a gateway accepts sockets). */
  start(): Promise<void>;
  /** Resolves once the part has let go of everything it holds: connections, timers, threads. */
  stop(): Promise<void>;
  health(): Health;
}

/** The process is healthy once migrated and every part it runs is (the first that is not says why). */
export function processHealth(migrated: boolean, services: readonly Pick<Service, 'name' | 'health'>[]): Health {
  if (!migrated) return { ok: false, reason: 'the database is not migrated yet' };
  for (const s of services) {
    const h = s.health();
    if (!h.ok) return { ok: false, reason: h.reason ?? `${s.name} is not ready` };
  }
  return HEALTHY;
}

/**
 * Starts the services in order; the stop it returns stops them in reverse. A start that
 * fails stops those already started before the error goes on.
 */
export async function startServices(services: readonly Service[], log: Logger): Promise<() => Promise<void>> {
  const started: Service[] = [];
  const stopAll = async () => {
    for (const s of [...started].reverse()) {
      await s.stop();
      log.debug({ service: s.name }, 'service stopped');
    }
  };
  try {
    for (const s of services) {
      await s.start();
      started.push(s);
    }
  } catch (err) {
    await stopAll().catch((e: unknown) => log.error({ err: e }, 'a service did not stop after a failed start'));
    throw err;
  }
  return stopAll;
}
