// The writers: random INSERT, UPDATE (moves between projects and primary key changes
// included) and DELETE over the five tables, one to four statements a transaction, some
// rolled back, some rows larger than NOTIFY's 8000 bytes, some transactions as a user
// (whose new projects they then own). Beside them, grants, revocations and role changes of the run's users. Table
// sizes stay within caps, so that every list a subscriber reads fits in one page of the
// API. A lost connection (Postgres restarting) is retried: the database, not the writer,
// is the record of what committed.
import pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { memberRoles } from '@realtime/db/schema';
import type { Rng } from './rng';
import { sleep } from './stack';

export const tables = ['projects', 'extraction_jobs', 'extraction_results', 'data_layers', 'supplier_matches'] as const;
export type Table = (typeof tables)[number];

/** Row caps: children stay under the API's 500-row page even unfiltered. */
const caps: Record<Table, number> = { projects: 24, extraction_jobs: 200, extraction_results: 200, data_layers: 150, supplier_matches: 150 };

const randomRow = (t: Table, extra = '') => `(SELECT id FROM ${t} ${extra} ORDER BY random() LIMIT 1)`;
const randomProject = randomRow('projects');

type Op = 'insert' | 'update' | 'move' | 'delete' | 'rekey';

/**
 * Tables whose primary key a writer changes now and then (`UPDATE ... SET id = ...`), as
 * any SQL client may: caches must drop the old key and hold the new one. Only tables no
 * foreign key points at, so that the change is not refused for a referencing row.
 */
export const rekeyable: readonly Table[] = ['data_layers', 'supplier_matches'];

/** The names of the rows the queue clients write (queue-writers.ts) begin with it; no writer here makes such a name. */
export const queueRowPrefix = 'qw';

/** One statement for a table and an operation, with its parameters drawn from `r`. */
export function statement(t: Table, op: Op, r: Rng, pinned: readonly string[]): { sql: string; params: unknown[] } {
  const word = () => r.pick(['alpha', 'beta', 'gamma', 'delta', 'sigma', 'omega', 'kappa']) + r.int(1, 999);
  // The queue clients' rows are deleted, moved and given new keys here too (their writes
  // then meet a 404), but nine times in ten spared: at this pace a row of the table lasts
  // seconds, and a client would meet little but 404s, where its updates should mostly go
  // through or meet the changes of the plain UPDATEs here (conflicts).
  const target = () => (t === 'data_layers' && r.chance(0.9) ? randomRow(t, `WHERE name NOT LIKE '${queueRowPrefix}%'`) : randomRow(t));
  switch (`${t}:${op}`) {
    case 'projects:insert':
      return { sql: `INSERT INTO projects (name, description, status) VALUES ($1, $2, $3)`, params: [word(), word(), r.pick(['active', 'archived'])] };
    case 'projects:update':
    case 'projects:move': {
      // Now and then a description past NOTIFY's 8000-byte payload limit.
      const description = r.chance(0.03) ? 'x'.repeat(9000 + r.int(0, 3000)) : word();
      return { sql: `UPDATE projects SET name = $1, status = $2, description = $3, updated_at = now() WHERE id = ${randomProject}`, params: [word(), r.pick(['active', 'archived']), description] };
    }
    case 'projects:delete':
      return { sql: `DELETE FROM projects WHERE id = ${randomRow('projects', 'WHERE id <> ALL($1::uuid[])')}`, params: [pinned] };
    case 'extraction_jobs:insert':
      return { sql: `INSERT INTO extraction_jobs (project_id, document_name, status) SELECT id, $1, $2 FROM projects ORDER BY random() LIMIT 1`, params: [`${word()}.pdf`, r.pick(['queued', 'processing'])] };
    case 'extraction_jobs:update':
      return { sql: `UPDATE extraction_jobs SET status = $1, progress = $2, updated_at = now() WHERE id = ${randomRow(t)}`, params: [r.pick(['queued', 'processing', 'completed', 'failed']), r.int(0, 100)] };
    case 'extraction_results:insert':
      return {
        sql: `INSERT INTO extraction_results (job_id, project_id, field_name, value, confidence, page) SELECT id, project_id, $1, $2, $3, $4 FROM extraction_jobs ORDER BY random() LIMIT 1`,
        params: [word(), word(), Math.round(r() * 1000) / 1000, r.chance(0.3) ? null : r.int(1, 40)],
      };
    case 'extraction_results:update':
    case 'extraction_results:move':
      return { sql: `UPDATE extraction_results SET value = $1, confidence = $2, updated_at = now() WHERE id = ${randomRow(t)}`, params: [word(), Math.round(r() * 1000) / 1000] };
    case 'data_layers:insert':
      return {
        sql: `INSERT INTO data_layers (project_id, name, kind, source, metadata) SELECT id, $1, $2, $3, $4 FROM projects ORDER BY random() LIMIT 1`,
        params: [word(), r.pick(['vector', 'raster', 'table', 'document']), `s3://${word()}`, JSON.stringify({ tags: [word(), word()], zoom: r.int(1, 20), nested: { ok: r.chance(0.5) } })],
      };
    case 'data_layers:update':
      return { sql: `UPDATE data_layers SET visible = $1, metadata = $2, updated_at = now() WHERE id = ${randomRow(t)}`, params: [r.chance(0.5), JSON.stringify({ tags: [word()], zoom: r.int(1, 20) })] };
    case 'supplier_matches:insert':
      return {
        sql: `INSERT INTO supplier_matches (project_id, result_id, supplier_name, score, status) SELECT p.id, (SELECT id FROM extraction_results WHERE project_id = p.id ORDER BY random() LIMIT 1), $1, $2, $3 FROM projects p ORDER BY random() LIMIT 1`,
        params: [word(), Math.round(r() * 1000) / 1000, r.pick(['pending', 'confirmed', 'rejected'])],
      };
    case 'supplier_matches:update':
      return { sql: `UPDATE supplier_matches SET status = $1, score = $2, updated_at = now() WHERE id = ${randomRow(t)}`, params: [r.pick(['pending', 'confirmed', 'rejected']), Math.round(r() * 1000) / 1000] };
    case 'data_layers:rekey':
    case 'supplier_matches:rekey':
      return { sql: `UPDATE ${t} SET id = gen_random_uuid(), updated_at = now() WHERE id = ${target()}`, params: [] };
    case 'extraction_jobs:move':
    case 'data_layers:move':
      // A row that leaves one project's filter and enters another's (a job takes its results along).
      return { sql: `UPDATE ${t} SET project_id = ${randomProject}, updated_at = now() WHERE id = ${target()}`, params: [] };
    case 'supplier_matches:move':
      // A match may name only a result of its own project: it leaves its result behind.
      return { sql: `UPDATE ${t} SET project_id = ${randomProject}, result_id = NULL, updated_at = now() WHERE id = ${target()}`, params: [] };
    default:
      return { sql: `DELETE FROM ${t} WHERE id = ${target()}`, params: [] };
  }
}

export function chooseOp(r: Rng, count: number, cap: number): Op {
  if (count >= cap) return 'delete';
  if (count < cap / 3) return r.chance(0.7) ? 'insert' : r.pick(['update', 'move'] as const);
  return r.pick(['insert', 'update', 'update', 'move', 'delete'] as const);
}

export interface WriterStats {
  committed: number;
  rolledBack: number;
  failed: number;
  /** Primary keys changed (UPDATE ... SET id) in committed transactions. */
  rekeyed: number;
}

export class Writers {
  readonly stats: WriterStats = { committed: 0, rolledBack: 0, failed: 0, rekeyed: 0 };
  private stopping = false;
  private loops: Promise<void>[] = [];
  private counts: Record<Table, number> = { projects: 0, extraction_jobs: 0, extraction_results: 0, data_layers: 0, supplier_matches: 0 };

  constructor(
    private readonly url: string,
    private readonly r: Rng,
    private readonly writers: number,
    private readonly pinned: readonly string[],
    private readonly log: Logger,
    /** User ids; a transaction as one of them makes them the owner of the projects it creates. */
    private readonly users: readonly string[] = [],
  ) {}

  start(): void {
    this.loops = Array.from({ length: this.writers }, (_, i) => this.loop(i, this.r.fork(100 + i)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** No transaction begins until `resume`; resolves once none is open (the restore fault puts the tables back meanwhile). */
  async pause(): Promise<void> {
    this.paused = true;
    while (this.active > 0) await sleep(10);
  }

  resume(): void {
    this.paused = false;
  }

  private paused = false;
  private active = 0;

  private async loop(index: number, r: Rng): Promise<void> {
    let client: pg.Client | null = null;
    let n = 0;
    while (!this.stopping) {
      if (this.paused) {
        await sleep(20);
        continue;
      }
      this.active++;
      try {
        if (!client) {
          client = new pg.Client({ connectionString: this.url, application_name: `chaos-writer-${index}` });
          client.on('error', () => undefined);
          await client.connect();
        }
        if (n++ % 40 === 0) await this.recount(client);
        await this.transaction(client, index, r);
      } catch (err) {
        this.stats.failed++;
        this.log.debug({ err, writer: index }, 'writer transaction failed');
        await client?.end().catch(() => undefined);
        client = null;
        await sleep(200);
      } finally {
        this.active--;
      }
      await sleep(r.int(0, 12));
    }
    await client?.end().catch(() => undefined);
  }

  private async recount(c: pg.Client): Promise<void> {
    const { rows } = await c.query(`SELECT ${tables.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`);
    this.counts = rows[0];
  }

  private async transaction(c: pg.Client, index: number, r: Rng): Promise<void> {
    await c.query('BEGIN');
    try {
      await c.query(`SELECT set_config('app.actor', $1, true)`, [`chaos-writer-${index}`]);
      if (this.users.length && r.chance(0.1)) await c.query(`SELECT set_config('app.user_id', $1, true)`, [r.pick(this.users)]);
      let rekeyed = 0;
      for (let i = r.int(1, 4); i > 0; i--) {
        const t = r.pick(tables);
        let op = chooseOp(r, this.counts[t], caps[t]);
        if (op === 'update' && rekeyable.includes(t) && r.chance(0.3)) op = 'rekey';
        const { sql, params } = statement(t, op, r, this.pinned);
        // A savepoint per statement: a row deleted under us (a foreign key, a vanished
        // parent) costs the statement, not the transaction.
        await c.query('SAVEPOINT s');
        try {
          const { rowCount } = await c.query(sql, params);
          if (op === 'rekey') rekeyed += rowCount ?? 0;
          await c.query('RELEASE SAVEPOINT s');
        } catch (err) {
          if (!isConflict(err)) throw err;
          await c.query('ROLLBACK TO SAVEPOINT s');
        }
      }
      if (r.chance(0.05)) {
        await c.query('ROLLBACK');
        this.stats.rolledBack++;
      } else {
        await c.query('COMMIT');
        this.stats.committed++;
        this.stats.rekeyed += rekeyed;
      }
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

export type MemberOp = 'grant' | 'revoke' | 'role';

/**
 * One membership change among the run's users, written as the writers write: a grant
 * (mostly of a pinned project, the ones filtered subscribers name, else of any project;
 * nothing when held already), a revocation, or a change of role; the last two pick one
 * of the users' memberships.
 */
export function memberStatement(op: MemberOp, r: Rng, users: readonly string[], pinned: readonly string[]): { sql: string; params: unknown[] } {
  const role = r.pick(memberRoles);
  const theirs = `(SELECT id FROM project_members WHERE user_id = ANY($1::uuid[]) ORDER BY random() LIMIT 1)`;
  switch (op) {
    case 'grant': {
      const insert = (project: string) => `INSERT INTO project_members (project_id, user_id, role) SELECT ${project}, $1, $2 ON CONFLICT (project_id, user_id) DO NOTHING`;
      if (r.chance(0.7)) return { sql: insert('$3::uuid'), params: [r.pick(users), role, r.pick(pinned)] };
      return { sql: insert('(SELECT id FROM projects ORDER BY random() LIMIT 1)'), params: [r.pick(users), role] };
    }
    case 'revoke':
      return { sql: `DELETE FROM project_members WHERE id = ${theirs} RETURNING user_id::text AS user_id, project_id::text AS project_id`, params: [users] };
    case 'role':
      return { sql: `UPDATE project_members SET role = $2, updated_at = now() WHERE id = ${theirs} AND role <> $2`, params: [users, role] };
  }
}

export function chooseMemberOp(r: Rng): MemberOp {
  return r.pick(['grant', 'grant', 'grant', 'revoke', 'revoke', 'role'] as const);
}

export interface MemberStats {
  grants: number;
  revocations: number;
  roleChanges: number;
  failed: number;
}

/** Grants, revocations and role changes at a modest pace (about one a second), each its own transaction. */
export class MembershipWriter {
  readonly stats: MemberStats = { grants: 0, revocations: 0, roleChanges: 0, failed: 0 };
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly r: Rng,
    private readonly users: readonly string[],
    private readonly pinned: readonly string[],
    private readonly log: Logger,
    /** Told of each revocation once it is committed (so that a fresh socket can open at once). */
    private readonly onRevoked: (userId: string, projectId: string) => void = () => undefined,
  ) {}

  start(): void {
    if (this.users.length) this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  /** No change begins until `resume`; resolves once none is open. */
  async pause(): Promise<void> {
    this.paused = true;
    while (this.active) await sleep(10);
  }

  resume(): void {
    this.paused = false;
  }

  private paused = false;
  private active = false;

  private async run(): Promise<void> {
    let client: pg.Client | null = null;
    while (!this.stopping) {
      await sleep(this.r.int(400, 1600));
      if (this.stopping) break;
      if (this.paused) continue;
      this.active = true;
      try {
        client = await this.change(client);
      } finally {
        this.active = false;
      }
    }
    await client?.end().catch(() => undefined);
  }

  private async change(client: pg.Client | null): Promise<pg.Client | null> {
    {
      const op = chooseMemberOp(this.r);
      const { sql, params } = memberStatement(op, this.r, this.users, this.pinned);
      try {
        if (!client) {
          client = new pg.Client({ connectionString: this.url, application_name: 'chaos-members' });
          client.on('error', () => undefined);
          await client.connect();
        }
        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.actor', 'chaos-members', true)`);
        const { rowCount, rows } = await client.query<{ user_id?: string; project_id?: string }>(sql, params);
        await client.query('COMMIT');
        if (rowCount) this.stats[op === 'grant' ? 'grants' : op === 'revoke' ? 'revocations' : 'roleChanges']++;
        if (op === 'revoke') for (const row of rows) if (row.user_id && row.project_id) this.onRevoked(row.user_id, row.project_id);
      } catch (err) {
        await client?.query('ROLLBACK').catch(() => undefined);
        if (isConflict(err)) return client;
        this.stats.failed++;
        this.log.debug({ err }, 'membership change failed');
        await client?.end().catch(() => undefined);
        client = null;
      }
      return client;
    }
  }
}

/** Errors that concurrent writers cause each other; anything else is a real failure. */
function isConflict(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === '23503' || code === '40P01' || code === '40001' || code === '23505';
}

/** `count` updates of one row with a `size`-byte description, one transaction each; returns the bytes written. */
export async function burst(url: string, id: string, count: number, size: number): Promise<number> {
  const c = new pg.Client({ connectionString: url, application_name: 'chaos-burst' });
  c.on('error', () => undefined);
  await c.connect();
  try {
    for (let i = 0; i < count; i++) await c.query(`UPDATE projects SET description = repeat(chr(97 + $1::int % 26), $2::int), updated_at = now() WHERE id = $3`, [i, size, id]);
    return count * size;
  } finally {
    await c.end().catch(() => undefined);
  }
}
