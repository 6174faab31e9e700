// drizzle-kit reads this file for `npm run db:generate` and `npm run db:studio`: the
// schema lives in db/src/schema, generated and custom (trigger, publication) migrations
// in db/migrations. Its database is the embedded cluster `npm start` runs, found as every
// command of the clone finds it (db/src/embedded/locate.ts), from whichever folder
// drizzle-kit runs; `generate` needs no database and works without one.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'drizzle-kit';
import { DEFAULT_EMBEDDED_PG_PORT, loadDbEnv } from './db/src/env';
import { embeddedDataDirCandidates, embeddedUrl, readEmbeddedPassword } from './db/src/embedded/password';
import { locateEmbedded, runningPostmaster } from './db/src/embedded/locate';

const env = loadDbEnv();
const repoRoot = path.dirname(fileURLToPath(import.meta.url));
// The commands that open the database; a missing server is their failure, not generate's.
const needsDatabase = ['studio', 'migrate', 'push', 'pull', 'introspect'].some((c) => process.argv.includes(c));

function embeddedAppUrl(): string {
  // db/src/database.ts chooses between the candidates by a permission check drizzle-kit
  // cannot wait for: the one that runs, else the one initialised, is that choice.
  const candidates = embeddedDataDirCandidates(repoRoot, env.EMBEDDED_PG_DIR);
  const chosen = candidates.find((d) => runningPostmaster(d)) ?? candidates.find((d) => readEmbeddedPassword(d)) ?? candidates[0]!;
  const plan = locateEmbedded(repoRoot, chosen, { dirFromEnv: env.EMBEDDED_PG_DIR !== undefined, port: env.EMBEDDED_PG_PORT });
  if (plan.kind === 'conflict') {
    if (needsDatabase) throw new Error(plan.message);
    return embeddedUrl(env.EMBEDDED_PG_PORT ?? DEFAULT_EMBEDDED_PG_PORT, '', 'realtime');
  }
  if (plan.kind === 'start' && needsDatabase) {
    throw new Error(
      `No embedded Postgres runs for this clone (data folder ${plan.dataDir}): drizzle-kit does not start one. ` +
        'Run `npm start` in another terminal first, or set DATABASE_URL.',
    );
  }
  // `realtime` is APP_DATABASE; db/src/database.ts would bring the whole db layer along.
  // Before the cluster's first start there is no password, which `generate` does not mind.
  return embeddedUrl(plan.port, readEmbeddedPassword(plan.dataDir) ?? '', 'realtime');
}

export default defineConfig({
  dialect: 'postgresql',
  schema: path.join(repoRoot, 'db/src/schema/index.ts'),
  // Relative: drizzle-kit prefixes it with ./ (npm run db:generate runs it from the clone's root).
  out: './db/migrations',
  casing: 'snake_case',
  dbCredentials: { url: env.DATABASE_URL ?? embeddedAppUrl() },
  migrations: { schema: 'drizzle', table: '__drizzle_migrations' },
});
