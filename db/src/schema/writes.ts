// What makes a write safe to retry: the answer to each Idempotency-Key a user sent, kept
// (at least IDEMPOTENCY_TTL_HOURS) so that the same request again gets the same answer
// and writes nothing. Not an app table: neither streamed nor served as a resource.
import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth';

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text().notNull(),
    // sha256 of the method, path, body and If-Match: the same key with another request is refused.
    requestHash: text().notNull(),
    // The response. Null only inside the writing transaction, which inserts the key first
    // (so that a concurrent duplicate waits on it) and fills these in before it commits.
    status: integer(),
    body: jsonb(),
    etag: text(),
    txid: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    // Pruning reads the oldest keys only.
    index('idempotency_keys_created_at_idx').on(t.createdAt),
    check('idempotency_keys_key_check', sql`${t.key} ~ '^[A-Za-z0-9_.:-]{1,200}$'`),
  ],
);
