// The members list pages by position, like the streamed lists: ordered by email (unique
// among users), `after` is the opaque `page.next` of the page before, and `total` is the
// project's member count in the same snapshot as the page. A project of thousands of
// members is read a page at a time and every member is reachable.
import { z } from 'zod';

export const MEMBERS_DEFAULT_LIMIT = 100;
export const MEMBERS_MAX_LIMIT = 500;

const fix = 'pass page.next of the previous page as it came, or leave after out for the first page';

/** The position after a member: their email, base64url-encoded (never shown as an email in a URL). */
export const encodeMemberAfter = (email: string): string => Buffer.from(email, 'utf8').toString('base64url');

/** `after` back to the email it stands for, or an error that names the fix. */
export function decodeMemberAfter(raw: string): { ok: true; email: string } | { ok: false; message: string } {
  if (!/^[A-Za-z0-9_-]{1,600}$/.test(raw)) return { ok: false, message: `not a page.next of this list; ${fix}` };
  const email = Buffer.from(raw, 'base64url').toString('utf8');
  // An email as the users table holds them: lower case, with an @, at most 320 characters.
  if (email.length > 320 || !/^[^@\s]+@[^@\s]+$/.test(email) || email !== email.toLowerCase() || encodeMemberAfter(email) !== raw) {
    return { ok: false, message: `not a page.next of this list; ${fix}` };
  }
  return { ok: true, email };
}

export const membersPageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(MEMBERS_MAX_LIMIT).default(MEMBERS_DEFAULT_LIMIT),
    after: z
      .string()
      .transform((v, ctx) => {
        const d = decodeMemberAfter(v);
        if (d.ok) return d.email;
        ctx.addIssue({ code: 'custom', message: d.message });
        return z.NEVER;
      })
      .optional(),
    offset: z.never({ message: 'offset is no longer supported: page with after=<page.next>' }).optional(),
  })
  .strict();

/** A page of `limit` from `limit + 1` rows read: the extra one only says that there is a next page. */
export function pageOf<R extends { email: string }>(rows: R[], limit: number): { items: R[]; next: string | null } {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? encodeMemberAfter(items[items.length - 1]!.email) : null };
}
