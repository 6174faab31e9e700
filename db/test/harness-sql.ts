// SQL helpers of the test harness that need no vitest context.
import { createHash } from 'node:crypto';
import pg from 'pg';

const SERVICES = ['api', 'gateway', 'replicator'] as const;
const VARIABLE = { api: 'DATABASE_URL_API', gateway: 'DATABASE_URL_GATEWAY', replicator: 'DATABASE_URL_REPLICATOR' } as const;

const loginName = (database: string, service: string) => `rt_${service}_${database}`.slice(0, 63);

/**
 * The environment that gives processes started on a test database login roles of their
 * own, as a deployment does. Names and passwords follow from the database, so that every
 * process on it (a leader and its standby) sets the same; dropDatabase removes them.
 */
export function testLoginEnv(url: string, services: readonly (typeof SERVICES)[number][] = SERVICES): Record<string, string> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const env: Record<string, string> = {};
  for (const service of services) {
    const u = new URL(url);
    u.username = loginName(database, service);
    u.password = createHash('sha256').update(`${database}:${service}`).digest('hex').slice(0, 32);
    env[VARIABLE[service]] = u.toString();
  }
  return env;
}

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
    // Roles are the cluster's: those of testLoginEnv go with their database.
    for (const service of SERVICES) {
      await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(loginName(name, service))}`).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}
