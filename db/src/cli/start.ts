// `npm start`: start (or reach) the database, migrate it, seed demo data when empty,
// say where it is, and keep the embedded Postgres running until Ctrl-C.
import { loadDbEnv } from '../env';
import { createLogger } from '../log';
import { openDatabase, redactUrl } from '../database';
import { runMigrations } from '../migrate';
import { seedIfEmpty } from '../seed';
import { runCli } from './run';

await runCli(async () => {
  const env = loadDbEnv();
  const log = createLogger(env.LOG_LEVEL, { service: 'start' });
  const db = await openDatabase(env, log);
  await runMigrations(db.url, log);
  const seed = await seedIfEmpty(db.url, log);
  const where = db.embedded ? `embedded Postgres (data in ${db.embedded.dataDir})` : 'Postgres';
  process.stdout.write(
    `\nDatabase ready: ${redactUrl(db.url)}\n  ${where}, migrated, ${seed.seeded ? 'seeded with demo data' : `${seed.projects} project(s) already there`}.\n`,
  );
  if (!db.embedded) return;
  process.stdout.write('  Press Ctrl-C to stop; the data is kept.\n');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('stopping the embedded Postgres');
  await db.stop();
});
