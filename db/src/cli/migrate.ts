// `npm run db:migrate`: apply pending migrations to DATABASE_URL, or to the embedded
// database (started for the occasion when it is not already running), and create or
// update the processes' login roles (DATABASE_URL_API, _GATEWAY, _REPLICATOR).
import { loadDbEnv } from '../env';
import { createLogger } from '@realtime/runtime';
import { openDatabase, redactUrl } from '../database';
import { runMigrations } from '../migrate';
import { runCli } from './run';

await runCli(async () => {
  const env = loadDbEnv();
  const log = createLogger(env.LOG_LEVEL, { service: 'migrate' }, { format: env.LOG_FORMAT });
  const db = await openDatabase(env, log);
  try {
    // Directly, never through a pooler: the migrations hold a session's advisory lock.
    const { applied, total } = await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
    process.stdout.write(`${redactUrl(db.url)}: ${applied ? `applied ${applied} migration(s)` : 'already up to date'} (${total} in all)\n`);
  } finally {
    await db.stop();
  }
});
