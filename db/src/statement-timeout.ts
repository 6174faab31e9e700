// The API's and the gateway's statement timeout is their login roles' default in the
// database (roles.ts writes it when the owner migrates), not a parameter each connection
// sends: a transaction pooler refuses startup parameters it does not track and drops a
// session SET between transactions, while a role default holds on every server connection.
// At start each process checks it holds, rather than run unbounded without a word.
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { redactUrl } from './url';
import { LOGIN_URL_VARIABLE, setTimeoutSql, type Service } from './roles';

export class StatementTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatementTimeoutError';
  }
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A statement_timeout as Postgres writes it ('300ms', '15s', '5000'), in ms; null when unparseable. */
export function timeoutMs(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? 'ms']! : null;
}

/**
 * The statement_timeout `user` gets in the current database from ALTER ROLE ... SET (the
 * database's own setting first, then the role-wide one); null when neither sets it.
 */
export async function configuredTimeout(db: pg.ClientBase | pg.Pool, user: string): Promise<number | null> {
  const { rows } = await db.query<{ value: string | null }>(
    `SELECT (SELECT substr(c, length('statement_timeout=') + 1)
             FROM pg_db_role_setting s CROSS JOIN unnest(s.setconfig) c
             WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1)
               AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
               AND c LIKE 'statement_timeout=%'
             ORDER BY s.setdatabase DESC LIMIT 1) AS value`,
    [user],
  );
  const value = rows[0]?.value;
  return value == null ? null : timeoutMs(value);
}

export interface TimeoutCheck {
  service: Service;
  url: string;
  expectedMs: number;
  /** false: the process runs as the owner, whose own default is not changed (migrations and exports must not be cut). */
  ownLogin: boolean;
}

/**
 * Whether `pool`'s statements are cut at `expectedMs`. Fails when the login role does not
 * carry that default (nothing would cut a statement); warns when it does but the
 * connection at hand predates it (a pooler's server connection, replaced in time).
 */
export async function checkStatementTimeout(pool: pg.Pool, check: TimeoutCheck, log: Logger): Promise<void> {
  const { rows } = await pool.query<{ user: string; database: string; live: string }>(
    `SELECT current_user AS "user", current_database() AS database, setting AS live FROM pg_settings WHERE name = 'statement_timeout'`,
  );
  const { user, database, live } = rows[0]!;
  if (Number(live) === check.expectedMs) return;
  const context = { service: check.service, role: user, database: redactUrl(check.url), statementTimeoutMs: Number(live) };
  if (!check.ownLogin) {
    log.warn(context, `the ${check.service} runs as ${user}, the owner, so STATEMENT_TIMEOUT_MS does not bound its statements: set ${LOGIN_URL_VARIABLE[check.service]} to a login role of its own`);
    return;
  }
  const configured = await configuredTimeout(pool, user);
  if (configured === check.expectedMs) {
    log.warn(
      context,
      `this connection of ${user} still has statement_timeout ${live}ms from before it was set to ${check.expectedMs}ms: a pooler's server connections take the new value when they are replaced ` +
        '(PgBouncer: server_lifetime, or RECONNECT on its admin console)',
    );
    return;
  }
  throw new StatementTimeoutError(
    `STATEMENT_TIMEOUT_MS is ${check.expectedMs}, but the ${check.service}'s login role ${user} has statement_timeout ${configured === null ? 'unset' : `${configured}ms`} in database ${database}. ` +
      'The owner writes it when it migrates: run the migrations with the same STATEMENT_TIMEOUT_MS (npm run db:migrate; compose\'s migrate service), ' +
      `or as a superuser run ${setTimeoutSql(user, database, check.expectedMs)};`,
  );
}
