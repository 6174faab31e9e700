// Who uses the app and what they may see: accounts, server-side sessions and project
// membership. Row-level security on the app's tables reads project_members (see the
// auth policy migration), so the API, the stream and the outbox obey one policy.
import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { projects } from './app';

export const memberRoles = ['viewer', 'editor', 'owner'] as const;
export type MemberRole = (typeof memberRoles)[number];

export const users = pgTable(
  'users',
  {
    id: uuid().primaryKey().defaultRandom(),
    // Stored lower-cased (the API and the CLI normalise), unique as such.
    email: text().notNull(),
    name: text().notNull().default(''),
    // Reads the outbox (every change of every project, row images included, each read logged) and the operational endpoints; no project membership by itself.
    operator: boolean().notNull().default(false),
    // An argon2id PHC string; null for a user who signs in only through OpenID Connect.
    passwordHash: text(),
    // The `sub` of an OpenID Connect provider's tokens, linked at first sign-in.
    oidcSubject: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_email_key').on(t.email),
    uniqueIndex('users_oidc_subject_key').on(t.oidcSubject),
    check('users_email_check', sql`${t.email} = lower(${t.email}) and ${t.email} like '%_@_%'`),
  ],
);

export const sessions = pgTable(
  'sessions',
  {
    // sha256 of the cookie's random token: a leaked table opens no session.
    id: text().primaryKey(),
    // The session's public name: realtime tokens carry it (`sid`) and its end is recorded
    // under it, so that neither the cookie nor its hash leaves this table.
    sid: uuid().notNull().defaultRandom(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt), uniqueIndex('sessions_sid_key').on(t.sid)],
);

/**
 * A session that ended before its expiry (signed out, its user's password reset, its user
 * removed): a trigger on `sessions` writes one row per ended session, and its capture into
 * the outbox gives the end a seq, at which the gateway closes that session's sockets.
 * Not a streamed table: no channel serves it and the API has no privilege on it.
 */
export const sessionEnds = pgTable(
  'session_ends',
  {
    // The session's sid (no foreign key: the session row is gone by then, maybe its user too).
    id: uuid().primaryKey(),
    userId: uuid().notNull(),
    // signed-out, signed-out-everywhere, password-reset, user-removed, session-ended (@realtime/protocol's sessionEndReasons).
    reason: text().notNull(),
    endedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('session_ends_ended_at_idx').on(t.endedAt)],
);

export const projectMembers = pgTable(
  'project_members',
  {
    // Its own id, so that the outbox names a membership like any other row.
    id: uuid().primaryKey().defaultRandom(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text({ enum: memberRoles }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('project_members_project_user_key').on(t.projectId, t.userId),
    index('project_members_user_idx').on(t.userId),
    check('project_members_role_check', sql`${t.role} in ('viewer', 'editor', 'owner')`),
  ],
);

/**
 * An owner's invitation of an email address into a project, pending until its invitee
 * accepts (then a project_members row) or declines, or an owner cancels. Stored whether
 * or not the address has an account, so that the owner learns nothing of accounts, and
 * never streamed: nothing reaches the invitee's caches before they accept.
 */
export const projectInvitations = pgTable(
  'project_invitations',
  {
    id: uuid().primaryKey().defaultRandom(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    // Lower-cased like users.email, which it is compared with.
    email: text().notNull(),
    role: text({ enum: memberRoles }).notNull(),
    invitedBy: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('project_invitations_project_email_key').on(t.projectId, t.email),
    index('project_invitations_email_idx').on(t.email),
    check('project_invitations_email_check', sql`${t.email} = lower(${t.email}) and ${t.email} like '%_@_%'`),
    check('project_invitations_role_check', sql`${t.role} in ('viewer', 'editor', 'owner')`),
  ],
);
