// The demo simulator of `npm start` (DEMO=1): every tick it reads the jobs, asks the
// pure plan what happens next and writes it in one transaction as actor "simulator",
// so that the stream (and the page) is alive the moment it opens.
import { desc, eq, inArray, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Logger } from '@realtime/runtime';
import { extractionJobs, extractionResults, projects, supplierMatches } from '@realtime/db/schema';
import { plan, type SimAction, type SimJob } from './simulator-plan';

const suppliers = ['Globex GmbH', 'Initech Ltd', 'Umbrella SA', 'Hooli Inc', 'Stark Industries'];

export class Simulator {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly opts: { db: NodePgDatabase; log: Logger; intervalMs: number; random?: () => number },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.opts.log.warn({ err }, 'demo simulator tick failed; the next one retries'))
        .finally(() => (this.running = null));
    }, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async tick(): Promise<SimAction[]> {
    const { db } = this.opts;
    const random = this.opts.random ?? Math.random;
    const projectRows = await db.select({ id: projects.id }).from(projects).where(eq(projects.status, 'active')).orderBy(desc(projects.createdAt)).limit(10);
    const jobRows = await db
      .select({ id: extractionJobs.id, projectId: extractionJobs.projectId, status: extractionJobs.status, progress: extractionJobs.progress, finishedAt: extractionJobs.finishedAt })
      .from(extractionJobs)
      .where(inArray(extractionJobs.projectId, projectRows.length ? projectRows.map((p) => p.id) : ['00000000-0000-0000-0000-000000000000']))
      .orderBy(desc(extractionJobs.createdAt))
      .limit(200);
    const jobs: SimJob[] = jobRows.map((j) => ({ ...j, finishedAt: j.finishedAt?.getTime() ?? null }));
    const actions = plan(jobs, projectRows.map((p) => p.id), random);
    if (actions.length === 0) return actions;
    await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.actor', 'simulator', true)`);
      const now = new Date();
      for (const a of actions) {
        switch (a.kind) {
          case 'create':
            await tx.insert(extractionJobs).values({ projectId: a.projectId, documentName: a.documentName });
            break;
          case 'start':
            await tx.update(extractionJobs).set({ status: 'processing', startedAt: now, updatedAt: now }).where(eq(extractionJobs.id, a.id));
            break;
          case 'advance':
            await tx.update(extractionJobs).set({ progress: a.progress, updatedAt: now }).where(eq(extractionJobs.id, a.id));
            break;
          case 'fail':
            await tx.update(extractionJobs).set({ status: 'failed', error: a.error, finishedAt: now, updatedAt: now }).where(eq(extractionJobs.id, a.id));
            break;
          case 'complete': {
            await tx.update(extractionJobs).set({ status: 'completed', progress: 100, finishedAt: now, updatedAt: now }).where(eq(extractionJobs.id, a.id));
            const supplier = suppliers[Math.floor(random() * suppliers.length)]!;
            const [result] = await tx
              .insert(extractionResults)
              .values([
                { jobId: a.id, projectId: a.projectId, fieldName: 'supplier', value: supplier, confidence: 0.8 + random() * 0.2, page: 1 },
                { jobId: a.id, projectId: a.projectId, fieldName: 'total', value: `${(random() * 20_000).toFixed(2)} EUR`, confidence: 0.7 + random() * 0.3, page: 2 },
              ])
              .returning();
            await tx.insert(supplierMatches).values({ projectId: a.projectId, resultId: result!.id, supplierName: supplier, score: 0.6 + random() * 0.4 });
            break;
          }
          case 'remove':
            await tx.delete(extractionJobs).where(eq(extractionJobs.id, a.id));
            break;
        }
      }
    });
    return actions;
  }
}
