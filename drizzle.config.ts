// drizzle-kit reads this file for `npm run db:generate`: the schema lives in db/src/schema,
// generated and custom (trigger, publication) migrations in db/migrations.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/src/schema/index.ts',
  out: './db/migrations',
  casing: 'snake_case',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres:password@127.0.0.1:54329/realtime' },
  migrations: { schema: 'drizzle', table: '__drizzle_migrations' },
});
