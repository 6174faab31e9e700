// drizzle-kit reads this file for `npm run db:generate`: the schema lives in db/src/schema,
// generated and custom (trigger, publication) migrations in db/migrations. Its database is
// the one `npm start` uses; before that cluster has a password file the URL has no
// password, which `generate` (it needs no database) does not mind.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'drizzle-kit';
import { loadDbEnv } from './db/src/env';
import { embeddedDataDirCandidates, embeddedUrl, findEmbeddedPassword } from './db/src/embedded/password';

const env = loadDbEnv();
const repoRoot = path.dirname(fileURLToPath(import.meta.url));
const embedded = findEmbeddedPassword(embeddedDataDirCandidates(repoRoot, env.EMBEDDED_PG_DIR));

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/src/schema/index.ts',
  out: './db/migrations',
  casing: 'snake_case',
  // `realtime` is APP_DATABASE; db/src/database.ts would bring the whole db layer along.
  dbCredentials: { url: env.DATABASE_URL ?? embeddedUrl(env.EMBEDDED_PG_PORT, embedded?.password ?? '', 'realtime') },
  migrations: { schema: 'drizzle', table: '__drizzle_migrations' },
});
