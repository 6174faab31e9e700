// Every API request's database work runs here: one transaction, as the NOLOGIN role
// realtime_api with the user's id and email set for this transaction only, so that
// row-level security decides what the statements see and the outbox records who wrote.
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { AuthUser } from './sessions';

export interface AsUserOptions {
  isolationLevel?: 'read committed' | 'repeatable read' | 'serializable';
  accessMode?: 'read only' | 'read write';
  /** Runs first, still as the connecting role: reads the policy does not cover (the stream cursor). */
  before?: (tx: NodePgDatabase) => Promise<void>;
}

export async function asUser<T>(db: NodePgDatabase, user: AuthUser, fn: (tx: NodePgDatabase) => Promise<T>, opts: AsUserOptions = {}): Promise<T> {
  return db.transaction(
    async (raw) => {
      const tx = raw as unknown as NodePgDatabase;
      await opts.before?.(tx);
      await tx.execute(sql`set local role realtime_api`);
      await tx.execute(sql`select set_config('app.user_id', ${user.id}, true), set_config('app.actor', ${user.email}, true)`);
      return fn(tx);
    },
    { isolationLevel: opts.isolationLevel, accessMode: opts.accessMode },
  );
}
