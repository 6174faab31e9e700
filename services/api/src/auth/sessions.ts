// Server-side sessions in Postgres. The cookie holds a random token; the table keeps only
// its sha256, so a leaked table or backup opens no session. Sessions slide: each use
// within the last part of their life extends them. Each has a public id (`sid`) that its
// realtime tokens carry; ending a session records why (a trigger writes session_ends,
// which the outbox captures), and the gateway closes its sockets at that change.
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '@realtime/db';
import type { SessionEndReason } from '@realtime/protocol';

export const SESSION_COOKIE = 'rt_session';

export interface AuthUser {
  id: string;
  email: string;
  name: string;
  operator: boolean;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export class Sessions {
  constructor(
    private readonly pool: pg.Pool,
    readonly ttlMs: number,
  ) {}

  /** A new session for the user; the returned token goes into the cookie and nowhere else. */
  async create(userId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.pool.query(`INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')`, [digest(token), userId, this.ttlMs]);
    // Expired sessions go now and then, so the table does not grow with every sign-in.
    // Ended sessions' records too: the gateway needs one only until its change is fed (the
    // outbox keeps the audit trail as long as retention does).
    if (Math.random() < 0.05) {
      await this.pool.query(`DELETE FROM sessions WHERE expires_at < now()`);
      await this.pool.query(`DELETE FROM session_ends WHERE ended_at < now() - interval '1 day'`);
    }
    return token;
  }

  /** The session's user and its public id (`sid`, what its realtime tokens name), or null when it is not live. */
  async user(token: string | undefined): Promise<{ user: AuthUser; sid: string } | null> {
    if (!token || token.length > 200) return null;
    const { rows } = await this.pool.query<AuthUser & { sid: string; refresh: boolean }>(
      `SELECT u.id, u.email, u.name, u.operator, s.sid, s.expires_at < now() + $2 * interval '1 millisecond' AS refresh
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.expires_at > now()`,
      [digest(token), this.ttlMs / 2],
    );
    const row = rows[0];
    if (!row) return null;
    if (row.refresh) {
      await this.pool.query(`UPDATE sessions SET last_seen_at = now(), expires_at = now() + $2 * interval '1 millisecond' WHERE id = $1`, [digest(token), this.ttlMs]);
    }
    return { user: { id: row.id, email: row.email, name: row.name, operator: row.operator }, sid: row.sid };
  }

  /** Ends the cookie's session: its sockets are closed with `signed-out`. */
  async end(token: string | undefined): Promise<void> {
    if (!token || token.length > 200) return;
    await inTransaction(this.pool, async (client) => {
      // The outbox names the user as the actor of their sign-out, as it does for their writes.
      await client.query(
        `SELECT set_config('app.actor', u.email, true), set_config('app.user_id', u.id::text, true) FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
        [digest(token)],
      );
      await endSessions(client, 'signed-out', `DELETE FROM sessions WHERE id = $1`, [digest(token)]);
    });
  }

  /** Ends every session of the user (their sockets on every device are closed); answers how many. */
  async endAll(user: AuthUser): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await client.query(`SELECT set_config('app.actor', $1, true), set_config('app.user_id', $2, true)`, [user.email, user.id]);
      return endSessions(client, 'signed-out-everywhere', `DELETE FROM sessions WHERE user_id = $1`, [user.id]);
    });
  }

}

/**
 * Deletes sessions inside the caller's transaction, recording why they ended: the
 * session_end trigger reads app.session_end, set here for that transaction only.
 */
export async function endSessions(client: pg.PoolClient, reason: SessionEndReason, statement: string, params: unknown[]): Promise<number> {
  await client.query(`SELECT set_config('app.session_end', $1, true)`, [reason]);
  return (await client.query(statement, params)).rowCount ?? 0;
}
