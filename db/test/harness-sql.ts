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
    // Slots pin a database; a test that made one (and maybe killed its reader a moment
    // ago) must not leave the cluster unable to drop it.
    for (let i = 0; i < 50; i++) {
      await client.query(`select pg_terminate_backend(active_pid) from pg_replication_slots where database = $1 and active_pid is not null`, [name]);
      await client.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1 and not active`, [name]);
      const { rowCount } = await client.query(`select 1 from pg_replication_slots where database = $1`, [name]);
      if (!rowCount) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
