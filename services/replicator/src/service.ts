// The replicator as a service of a process: on this thread (`npm run replicator`, a test)
// or in a worker thread (`npm start`), started, stopped and judged healthy the same way.
import { HEALTHY, type Health, type Service } from '@realtime/runtime';
import { Replicator, type ReplicatorConfig, type ReplicatorLike, type ReplicatorStatus } from './replicator';
import { ReplicatorThread } from './thread/thread';

/** A standby is healthy (it waits its turn); a leader once it stamps in either mode. */
export function replicatorHealth(s: Pick<ReplicatorStatus, 'role' | 'mode' | 'reason'>): Health {
  if (s.role === 'standby') return HEALTHY;
  if (s.role === 'leader' && (s.mode === 'wal' || s.mode === 'notify')) return HEALTHY;
  return { ok: false, reason: `replicator is ${s.role}${s.reason ? `: ${s.reason}` : ''}` };
}

export class ReplicatorService implements Service {
  readonly name = 'replicator';
  private started = false;

  constructor(readonly replicator: ReplicatorLike) {}

  async start(): Promise<void> {
    await this.replicator.start();
    this.started = true;
  }

  stop(): Promise<void> {
    return this.replicator.stop();
  }

  health(): Health {
    return this.started ? replicatorHealth(this.replicator.status()) : { ok: false, reason: 'the replicator has not started' };
  }

  status(): ReplicatorStatus {
    return this.replicator.status();
  }
}

/** `thread`: in a worker thread, off the event loop of the sockets and the API. */
export function replicatorService(cfg: ReplicatorConfig, opts: { thread: boolean }): ReplicatorService {
  return new ReplicatorService(opts.thread ? new ReplicatorThread(cfg) : new Replicator(cfg));
}
