// pg-logical-replication behind one adapter: its internals are read here only, and the
// WAL stream test breaks if the library changes them.
import type pg from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';

/**
 * pg-logical-replication's stop() ends its client and then removes the client's
 * listeners: an error the server sends after that (the walsender terminated while the
 * stream was being torn down) would be an uncaught 'error' event and end the process.
 * The ended client keeps a listener that drops it.
 */
export class EndSafeReplicationService extends LogicalReplicationService {
  override async stop(): Promise<this> {
    const client = (this as unknown as { _client: pg.Client | null })._client;
    try {
      return await super.stop();
    } finally {
      client?.on('error', () => undefined);
    }
  }
}

/**
 * Whether the library holds no message it received but has not handed over yet: a
 * keepalive position past such a message must not be acknowledged, or it is skipped.
 */
export function libraryIdle(service: LogicalReplicationService): boolean {
  const internals = service as unknown as { _messageQueue?: unknown[]; _processing?: boolean };
  return (internals._messageQueue?.length ?? 0) === 0 && !internals._processing;
}
