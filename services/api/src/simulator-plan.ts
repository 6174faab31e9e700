// What the demo simulator does next, decided purely from the jobs it sees and a random
// source: queue new jobs, start queued ones, advance progress, finish (or now and then
// fail) those at 100, and clear out old finished jobs so the demo stays small.

export interface SimJob {
  id: string;
  projectId: string;
  status: 'queued' | 'processing' | 'completed' | 'failed';
  progress: number;
  finishedAt: number | null;
}

export type SimAction =
  | { kind: 'create'; projectId: string; documentName: string }
  | { kind: 'start'; id: string }
  | { kind: 'advance'; id: string; progress: number }
  | { kind: 'complete'; id: string; projectId: string }
  | { kind: 'fail'; id: string; error: string }
  | { kind: 'remove'; id: string };

export interface PlanOptions {
  /** Most jobs running at once. */
  maxActive: number;
  /** Finished jobs kept per project; older ones are removed. */
  keepFinished: number;
  /** Chance per tick of a new job. */
  createChance: number;
  /** Chance that a job at 100 fails instead of completing. */
  failChance: number;
}

export const defaultPlan: PlanOptions = { maxActive: 4, keepFinished: 6, createChance: 0.6, failChance: 0.1 };

const documents = ['invoice', 'certificate', 'bill-of-lading', 'quote', 'delivery-note', 'contract'];

export function plan(jobs: SimJob[], projectIds: string[], random: () => number, opts: PlanOptions = defaultPlan): SimAction[] {
  const actions: SimAction[] = [];
  const active = jobs.filter((j) => j.status === 'queued' || j.status === 'processing');
  if (projectIds.length > 0 && active.length < opts.maxActive && random() < opts.createChance) {
    const projectId = projectIds[Math.floor(random() * projectIds.length)]!;
    const doc = documents[Math.floor(random() * documents.length)]!;
    actions.push({ kind: 'create', projectId, documentName: `${doc}-${Math.floor(random() * 9000 + 1000)}.pdf` });
  }
  for (const job of jobs) {
    if (job.status === 'queued') {
      if (random() < 0.7) actions.push({ kind: 'start', id: job.id });
    } else if (job.status === 'processing') {
      if (job.progress >= 100) {
        actions.push(random() < opts.failChance ? { kind: 'fail', id: job.id, error: 'OCR could not read page 2' } : { kind: 'complete', id: job.id, projectId: job.projectId });
      } else {
        actions.push({ kind: 'advance', id: job.id, progress: Math.min(100, job.progress + 10 + Math.floor(random() * 25)) });
      }
    }
  }
  const finishedByProject = new Map<string, SimJob[]>();
  for (const j of jobs) {
    if (j.status !== 'completed' && j.status !== 'failed') continue;
    finishedByProject.set(j.projectId, [...(finishedByProject.get(j.projectId) ?? []), j]);
  }
  for (const finished of finishedByProject.values()) {
    finished.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
    for (const old of finished.slice(opts.keepFinished)) actions.push({ kind: 'remove', id: old.id });
  }
  return actions;
}
