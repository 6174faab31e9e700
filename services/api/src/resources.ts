// The five resources of the HTTP API and how their lists are narrowed: one table, one
// place, so that routes, validation and docs cannot drift apart.
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import { dataLayers, extractionJobs, extractionResults, projects, supplierMatches } from '@realtime/db/schema';

export interface Resource {
  /** URL segment under /api. */
  path: string;
  table: PgTable & { id: AnyPgColumn; createdAt: AnyPgColumn; updatedAt: AnyPgColumn };
  /** The stream channel (table name) of this resource. */
  channel: string;
  /** Query parameters that narrow a list, by the column they compare. */
  parents: Record<string, AnyPgColumn>;
}

export const resources: Resource[] = [
  { path: 'projects', table: projects, channel: 'projects', parents: {} },
  { path: 'extraction-jobs', table: extractionJobs, channel: 'extraction_jobs', parents: { projectId: extractionJobs.projectId } },
  {
    path: 'extraction-results',
    table: extractionResults,
    channel: 'extraction_results',
    parents: { projectId: extractionResults.projectId, jobId: extractionResults.jobId },
  },
  { path: 'data-layers', table: dataLayers, channel: 'data_layers', parents: { projectId: dataLayers.projectId } },
  {
    path: 'supplier-matches',
    table: supplierMatches,
    channel: 'supplier_matches',
    parents: { projectId: supplierMatches.projectId, resultId: supplierMatches.resultId },
  },
];
