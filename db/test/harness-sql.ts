// SQL helpers of the test harness that need no vitest context.
import pg from 'pg';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // Slots pin a database; a test that made one must not leave the cluster unable to drop it.
    await client.query(
      `select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1 and not active`,
      [name],
    );
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
