// Server-side sessions in Postgres. The cookie holds a random token; the table keeps only
// its sha256, so a leaked table or backup opens no session. Sessions slide: each use
// within the last part of their life extends them.
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';

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
    if (Math.random() < 0.05) await this.pool.query(`DELETE FROM sessions WHERE expires_at < now()`);
    return token;
  }

  async user(token: string | undefined): Promise<AuthUser | null> {
    if (!token || token.length > 200) return null;
    const { rows } = await this.pool.query<AuthUser & { refresh: boolean }>(
      `SELECT u.id, u.email, u.name, u.operator, s.expires_at < now() + $2 * interval '1 millisecond' AS refresh
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.expires_at > now()`,
      [digest(token), this.ttlMs / 2],
    );
    const row = rows[0];
    if (!row) return null;
    if (row.refresh) {
      await this.pool.query(`UPDATE sessions SET last_seen_at = now(), expires_at = now() + $2 * interval '1 millisecond' WHERE id = $1`, [digest(token), this.ttlMs]);
    }
    return { id: row.id, email: row.email, name: row.name, operator: row.operator };
  }

  async end(token: string | undefined): Promise<void> {
    if (token) await this.pool.query(`DELETE FROM sessions WHERE id = $1`, [digest(token)]);
  }
}
