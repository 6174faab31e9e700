// `npm run db:url`: the app database's URL, password included, of the Postgres that
// `npm start` uses (the same choice as every command: embedded/locate.ts), for psql and
// other tools: psql "$(npm run -s db:url)". It starts nothing; stdout carries the URL
// alone, and a note on stderr says whether a server answers.
import path from 'node:path';
import pg from 'pg';
import { loadDbEnv } from '../env';
import { createLogger } from '@realtime/runtime';
import { APP_DATABASE, locateDatabase, redactUrl } from '../database';
import { EmbeddedPostgresError } from '../embedded/cluster';
import { embeddedUrl, PASSWORD_FILE, readEmbeddedPassword } from '../embedded/password';
import { runCli } from './run';

await runCli(async () => {
  const env = loadDbEnv();
  // Logs (the shared-folder notice) must not land in $(...) with the URL.
  const log = createLogger(env.LOG_LEVEL, { service: 'db-url' }, { format: env.LOG_FORMAT, fd: 2 });
  let url = env.DATABASE_URL;
  if (!url) {
    const plan = await locateDatabase(env, log);
    if (plan.kind === 'conflict') throw new EmbeddedPostgresError(plan.message);
    const { dataDir, port } = plan;
    const password = readEmbeddedPassword(dataDir);
    if (!password) {
      throw new Error(
        `The embedded Postgres has no password yet (no ${path.join(dataDir, PASSWORD_FILE)}). ` +
          'Run `npm start` (or `npm run db:migrate`) once first, with no other `npm start` running: it generates the password and keeps it there.',
      );
    }
    url = embeddedUrl(port, password, APP_DATABASE);
  }
  process.stdout.write(`${url}\n`);
  process.stderr.write(`${await describeServer(url)}\n`);
});

async function describeServer(url: string): Promise<string> {
  const where = redactUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>(`select current_setting('server_version') as version`);
    return `note: ${where} answers (Postgres ${rows[0]?.version ?? '?'})`;
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    if (code === 'ECONNREFUSED') return `note: nothing answers at ${where} now; \`npm start\` starts it`;
    if (code === '3D000') return `note: the server at ${where} answers but has no such database yet; \`npm run db:migrate\` makes it`;
    return `note: the server at ${where} does not let us in: ${message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
