// Demo data for a fresh database, so that the app has something to show the moment it
// opens. Seeds only an empty database, in one transaction, as actor "seed".
import { count, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema';
import type { Logger } from '@realtime/runtime';

const demoProjects = [
  { name: 'Acme supplier onboarding', description: 'Invoices and certificates from new suppliers.' },
  { name: 'Harbor logistics audit', description: 'Bills of lading for the Q3 audit.' },
  { name: 'Northwind procurement', description: 'Purchase orders and quotes.' },
];
const documents = ['invoice-0042.pdf', 'certificate-iso9001.pdf', 'bill-of-lading-77.pdf', 'quote-2291.pdf'];

export async function seedIfEmpty(url: string, log: Logger): Promise<{ seeded: boolean; projects: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'realtime-seed' });
  const db = drizzle({ client: pool, schema, casing: 'snake_case' });
  try {
    const [existing] = await db.select({ n: count() }).from(schema.projects);
    if ((existing?.n ?? 0) > 0) return { seeded: false, projects: existing?.n ?? 0 };
    await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.actor', 'seed', true)`);
      const created = await tx.insert(schema.projects).values(demoProjects).returning();
      for (const [i, project] of created.entries()) {
        const jobs = await tx
          .insert(schema.extractionJobs)
          .values(
            documents.slice(0, 2 + (i % 3)).map((documentName, j) => ({
              projectId: project.id,
              documentName,
              status: j === 0 ? ('completed' as const) : ('queued' as const),
              progress: j === 0 ? 100 : 0,
              startedAt: j === 0 ? new Date(Date.now() - 60_000) : null,
              finishedAt: j === 0 ? new Date() : null,
            })),
          )
          .returning();
        const done = jobs[0];
        if (!done) continue;
        const [result] = await tx
          .insert(schema.extractionResults)
          .values([
            { jobId: done.id, projectId: project.id, fieldName: 'supplier', value: 'Globex GmbH', confidence: 0.97, page: 1 },
            { jobId: done.id, projectId: project.id, fieldName: 'total', value: '12,480.00 EUR', confidence: 0.91, page: 2 },
          ])
          .returning();
        await tx.insert(schema.dataLayers).values({ projectId: project.id, name: 'Supplier sites', kind: 'vector', source: 's3://demo/sites.geojson' });
        await tx.insert(schema.supplierMatches).values({ projectId: project.id, resultId: result?.id ?? null, supplierName: 'Globex GmbH', score: 0.93 });
      }
    });
    log.info({ projects: demoProjects.length }, 'seeded demo data');
    return { seeded: true, projects: demoProjects.length };
  } finally {
    await pool.end();
  }
}
