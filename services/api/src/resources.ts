// The resources of the HTTP API, derived rather than listed: every table the app schema
// (db/src/schema/app.ts) exports that the catalog shows streamed (a migration called
// realtime_enable for it) with a project column is served under /api/<its name, - for _>.
// Its lists filter by any column (lists/spec.ts), and its rows' project follows from a parent
// that belongs to the same project column. Adding a table is its schema and its migration,
// nothing here. A table exported but not servable (never enabled, or its rows belong to no
// project, so no member's role could grant them) is left out and named with its fix.
import { getTableColumns, getTableName, is } from 'drizzle-orm';
import { toSnakeCase } from 'drizzle-orm/casing';
import { PgTable, getTableConfig, type AnyPgColumn } from 'drizzle-orm/pg-core';
import * as appSchema from '@realtime/db/schema/app';
import { loadStreamedTables, type Queryable, type StreamedTable } from '@realtime/db';

/** A parent whose project a row must share: the row's `field` names the parent's key. */
export interface ProjectFrom {
  /** The row's field (camelCase) that references the parent. */
  field: string;
  /** How the parent is named in errors: `job` for jobId. */
  noun: string;
  parent: PgTable;
  parentName: string;
  parentKey: AnyPgColumn;
  parentProject: AnyPgColumn;
}

export interface Resource {
  /** URL segment under /api. */
  path: string;
  table: PgTable;
  /** The stream channel (table name) of this resource. */
  channel: string;
  /** The catalog's view of it: key, project column and column types (for shapeRow). */
  streamed: StreamedTable;
  /** The key column and its field name. */
  key: AnyPgColumn;
  keyField: string;
  /** Set by the server, never by a body. */
  createdAt: AnyPgColumn | null;
  updatedAt: AnyPgColumn | null;
  /** The row's version (an integer `version` column, bumped by a trigger on every UPDATE): its ETag, what If-Match names. */
  version: AnyPgColumn | null;
  /** The field of the project column, or null when rows belong to no project. */
  projectField: string | null;
  /** The single-column foreign keys, by field: the parents a row names. */
  parents: Record<string, AnyPgColumn>;
  projectFrom: ProjectFrom[];
}

/** A table the app schema exports that the API does not serve, and what would make it served. */
export interface Unserved {
  /** The table's SQL name. */
  table: string;
  /** Where it would be served: /api/<path>. */
  path: string;
  /** never enabled (no capture trigger), or enabled without a project column. */
  reason: 'not-streamed' | 'no-project';
  /** The fix, as the start-up warning and its routes' 404 say it. */
  fix: string;
}

/** The served resources, and the schema's tables left out with why. */
export type Resources = Resource[] & { unserved: Unserved[] };

/** The drizzle tables a schema module exports (its other exports, like enums' values, aside). */
export function schemaTables(schema: Record<string, unknown> = appSchema): PgTable[] {
  return Object.values(schema).filter((v): v is PgTable => is(v, PgTable));
}

/** The schema is written with casing: 'snake_case': a column named after its key lives under the key's snake_case form. */
function columnsByName(table: PgTable): Map<string, { field: string; column: AnyPgColumn }> {
  const out = new Map<string, { field: string; column: AnyPgColumn }>();
  for (const [field, column] of Object.entries(getTableColumns(table))) {
    out.set(column.keyAsName ? toSnakeCase(field) : column.name, { field, column: column as AnyPgColumn });
  }
  return out;
}

function fieldOf(table: PgTable, column: unknown): string | null {
  for (const [field, c] of Object.entries(getTableColumns(table))) if (c === column) return field;
  return null;
}

/** An integer `version` in both the schema and the database (where realtime_enable gave it its trigger). */
function versionColumn(byName: Map<string, { column: AnyPgColumn }>, streamed: StreamedTable): AnyPgColumn | null {
  const column = byName.get('version')?.column;
  if (!column || column.columnType !== 'PgInteger') return null;
  return streamed.columns.some((c) => c.name === 'version' && c.type === 'integer') ? column : null;
}

/** The column that would name a row's project: project_id, or one that references projects' id. */
function projectColumnOf(table: PgTable): string | null {
  const byName = columnsByName(table);
  if (byName.get('project_id')?.column.columnType === 'PgUUID') return 'project_id';
  for (const fk of getTableConfig(table).foreignKeys) {
    const ref = fk.reference();
    if (ref.columns.length === 1 && getTableName(ref.foreignTable) === 'projects' && ref.foreignColumns[0]?.name === 'id') return ref.columns[0]!.name;
  }
  return null;
}

function keyColumnOf(table: PgTable): string {
  for (const [name, c] of columnsByName(table)) if (c.column.primary) return name;
  return 'id';
}

/** The start-up warning's and the 404's words for a table left out. */
export function unservedFix(table: PgTable, reason: Unserved['reason']): string {
  const name = getTableName(table);
  const key = keyColumnOf(table);
  const project = projectColumnOf(table);
  const enable = `SELECT realtime_enable('${name}', '${key}', '${project ?? 'project_id'}');`;
  const addProject = `give it a project_id uuid column REFERENCES projects(id) (a child's, with a foreign key to its parent's (id, project_id), as extraction_results has)`;
  const elsewhere = `or, if the API should not serve it, export it from a schema module other than db/src/schema/app.ts`;
  if (reason === 'not-streamed') {
    if (project) return `its changes are not captured: add ${enable} to a migration (npm run db:generate -- --custom --name ${name}_stream), then npm run db:migrate`;
    return `its changes are not captured and its rows belong to no project: ${addProject}, then add ${enable} to a migration (npm run db:generate -- --custom --name ${name}_stream); ${elsewhere}`;
  }
  if (project) return `its rows belong to no project, so no member's role grants them: realtime_enable named no project column; add ${enable} to a migration (it replaces the trigger and installs the project policies)`;
  return `its rows belong to no project, so no member's role grants them: ${addProject}, then add ${enable} to a migration; ${elsewhere} (its changes still stream to service tokens that grant every project)`;
}

/** Pure: the schema's tables joined with the catalog; tables the catalog does not stream, or streams without a project column, are not served. */
export function buildResources(tables: PgTable[], catalog: Map<string, StreamedTable>): Resources {
  const out: Resource[] = [];
  const unserved: Unserved[] = [];
  for (const table of tables) {
    const name = getTableName(table);
    const streamed = catalog.get(name);
    const left = !streamed ? 'not-streamed' : streamed.projectColumn === null ? 'no-project' : null;
    if (left) {
      unserved.push({ table: name, path: name.replace(/_/g, '-'), reason: left, fix: unservedFix(table, left) });
      continue;
    }
    if (!streamed) continue;
    const byName = columnsByName(table);
    const key = byName.get(streamed.keyColumn);
    if (!key) throw new Error(`${name}: the capture trigger's key column "${streamed.keyColumn}" is not in the drizzle table; fix realtime_enable's second argument or the schema`);
    const project = streamed.projectColumn === null ? null : (byName.get(streamed.projectColumn) ?? null);
    const parents: Record<string, AnyPgColumn> = {};
    const projectFrom: ProjectFrom[] = [];
    for (const fk of getTableConfig(table).foreignKeys) {
      const ref = fk.reference();
      if (ref.columns.length !== 1) continue;
      const field = fieldOf(table, ref.columns[0]);
      if (!field) continue;
      parents[field] = ref.columns[0] as AnyPgColumn;
      // A parent of the same project (its project column has this table's name for it):
      // the row's project follows from the parent's.
      const parentName = getTableName(ref.foreignTable);
      const parentStreamed = catalog.get(parentName);
      if (!project || field === project.field || !parentStreamed || parentStreamed.projectColumn !== streamed.projectColumn) continue;
      const parentProject = columnsByName(ref.foreignTable).get(streamed.projectColumn!);
      if (!parentProject) continue;
      projectFrom.push({
        field,
        noun: toSnakeCase(field.replace(/Id$/, '')).replace(/_/g, ' '),
        parent: ref.foreignTable,
        parentName,
        parentKey: ref.foreignColumns[0] as AnyPgColumn,
        parentProject: parentProject.column,
      });
    }
    out.push({
      path: name.replace(/_/g, '-'),
      table,
      channel: name,
      streamed,
      key: key.column,
      keyField: key.field,
      createdAt: byName.get('created_at')?.column ?? null,
      updatedAt: byName.get('updated_at')?.column ?? null,
      version: versionColumn(byName, streamed),
      projectField: project?.field ?? null,
      parents,
      projectFrom,
    });
  }
  return Object.assign(out, { unserved });
}

/** The resources at start-up: the app schema's tables (and any given beside them) the catalog shows streamed. */
export async function loadResources(db: Queryable, extra: PgTable[] = []): Promise<Resources> {
  return buildResources([...schemaTables(), ...extra], await loadStreamedTables(db));
}
