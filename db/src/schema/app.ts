// The reference extraction app: five tables whose every change is streamed to browsers.
// Child rows carry project_id so that filters and grants are a column check, not a join.
// Every table exported here that a migration streams (realtime_enable) is served by the
// API as /api/<table name with - for _>: export a new table here and nothing else lists it.
import { sql, type SQL } from 'drizzle-orm';
import { check, foreignKey, index, integer, jsonb, pgTable, real, text, timestamp, unique, uuid, boolean, type AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * A timestamp as lists order and page it: cut to the millisecond in UTC, as the API prints
 * it, so that two rows of the same millisecond tie on the server as they do in a browser
 * (the key breaks the tie). `realtime_list_time` (migration 0016) is that date_trunc,
 * immutable so it can be indexed, and leakproof so that a page's position (`after`) is an
 * index condition under row-level security rather than a filter over every row before it.
 * The API's lists compare this very expression, which is what lets the indexes below serve them.
 */
export function listTime(column: AnyPgColumn): SQL {
  return sql`realtime_list_time(${column})`;
}

// The server's columns, never a body's. `version` starts at 1 and a trigger that
// realtime_enable installs adds 1 on every UPDATE, whoever writes (API, SQL, simulator):
// it is what an If-Match names, so no writer may forget or fake it.
const serverColumns = {
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  version: integer().notNull().default(1),
};

export const projectStatuses = ['active', 'archived'] as const;
export const jobStatuses = ['queued', 'processing', 'completed', 'failed'] as const;
export const layerKinds = ['vector', 'raster', 'table', 'document'] as const;
export const matchStatuses = ['pending', 'confirmed', 'rejected'] as const;

export const projects = pgTable(
  'projects',
  {
    id: uuid().primaryKey().defaultRandom(),
    name: text().notNull(),
    description: text().notNull().default(''),
    status: text({ enum: projectStatuses }).notNull().default('active'),
    ...serverColumns,
  },
  (t) => [
    // The lists' orders (services/api/src/lists): newest first, and by key.
    index('projects_list_created_idx').on(listTime(t.createdAt), t.id),
    check('projects_status_check', sql`${t.status} in ('active', 'archived')`),
  ],
);

export const extractionJobs = pgTable(
  'extraction_jobs',
  {
    id: uuid().primaryKey().defaultRandom(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    documentName: text().notNull(),
    status: text({ enum: jobStatuses }).notNull().default('queued'),
    progress: integer().notNull().default(0),
    error: text(),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
    ...serverColumns,
  },
  (t) => [
    // A project's list in each order it can be paged by (services/api/src/lists): by
    // creation (the default) and by key. The second also serves lookups by project.
    index('extraction_jobs_list_created_idx').on(t.projectId, listTime(t.createdAt), t.id),
    index('extraction_jobs_list_id_idx').on(t.projectId, t.id),
    // What a result's (job_id, project_id) references: a result lives in its job's project.
    unique('extraction_jobs_id_project_key').on(t.id, t.projectId),
    check('extraction_jobs_status_check', sql`${t.status} in ('queued', 'processing', 'completed', 'failed')`),
    check('extraction_jobs_progress_check', sql`${t.progress} between 0 and 100`),
  ],
);

export const extractionResults = pgTable(
  'extraction_results',
  {
    id: uuid().primaryKey().defaultRandom(),
    jobId: uuid()
      .notNull()
      .references(() => extractionJobs.id, { onDelete: 'cascade' }),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    fieldName: text().notNull(),
    value: text().notNull(),
    confidence: real().notNull(),
    page: integer(),
    ...serverColumns,
  },
  (t) => [
    index('extraction_results_job_idx').on(t.jobId),
    index('extraction_results_list_created_idx').on(t.projectId, listTime(t.createdAt), t.id),
    index('extraction_results_list_id_idx').on(t.projectId, t.id),
    unique('extraction_results_id_project_key').on(t.id, t.projectId),
    // No row references a row of another project, whoever writes (API, SQL, simulator):
    // a job that moves takes its results along.
    foreignKey({ name: 'extraction_results_job_same_project_fk', columns: [t.jobId, t.projectId], foreignColumns: [extractionJobs.id, extractionJobs.projectId] })
      .onUpdate('cascade')
      .onDelete('cascade'),
    check('extraction_results_confidence_check', sql`${t.confidence} between 0 and 1`),
    check('extraction_results_page_check', sql`${t.page} is null or ${t.page} >= 1`),
  ],
);

export const dataLayers = pgTable(
  'data_layers',
  {
    id: uuid().primaryKey().defaultRandom(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    kind: text({ enum: layerKinds }).notNull(),
    source: text().notNull(),
    visible: boolean().notNull().default(true),
    metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    ...serverColumns,
  },
  (t) => [
    index('data_layers_list_created_idx').on(t.projectId, listTime(t.createdAt), t.id),
    index('data_layers_list_id_idx').on(t.projectId, t.id),
    check('data_layers_kind_check', sql`${t.kind} in ('vector', 'raster', 'table', 'document')`),
  ],
);

export const supplierMatches = pgTable(
  'supplier_matches',
  {
    id: uuid().primaryKey().defaultRandom(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    resultId: uuid().references(() => extractionResults.id, { onDelete: 'set null' }),
    supplierName: text().notNull(),
    score: real().notNull(),
    status: text({ enum: matchStatuses }).notNull().default('pending'),
    ...serverColumns,
  },
  (t) => [
    index('supplier_matches_list_created_idx').on(t.projectId, listTime(t.createdAt), t.id),
    index('supplier_matches_list_id_idx').on(t.projectId, t.id),
    index('supplier_matches_result_idx').on(t.resultId),
    // A match names a result of its own project; a result that moves takes its matches
    // along. The migration's ON DELETE SET NULL (result_id) clears only the reference
    // (drizzle has no column list for it): project_id stays.
    foreignKey({ name: 'supplier_matches_result_same_project_fk', columns: [t.resultId, t.projectId], foreignColumns: [extractionResults.id, extractionResults.projectId] })
      .onUpdate('cascade')
      .onDelete('set null'),
    check('supplier_matches_score_check', sql`${t.score} between 0 and 1`),
    check('supplier_matches_status_check', sql`${t.status} in ('pending', 'confirmed', 'rejected')`),
  ],
);
