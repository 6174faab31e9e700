// The schemas the server validates the stream's inbound messages and token claims with:
// a server-only entry (`@realtime/protocol/validate`), so that zod stays out of the
// browser bundle, which needs only the types. Each schema is checked against its type in
// `./index` at compile time: the two cannot drift apart.
import { z } from 'zod';
import { LIMITS, type AuthRequest, type Grant, type SubscribeRequest, type UnsubscribeRequest, type UserClaims } from './index.js';

/** True only when A and B are the same type: each assignable to the other, with the same keys (optional ones too). */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Same<A, B> = Mutual<A, B> extends true ? Mutual<keyof A, keyof B> : false;
const same = <A, B>(check: Same<A, B>) => check;

const filterValue = z.union([z.string().max(LIMITS.filterValueLength), z.number().finite(), z.boolean(), z.null()]);

export const subscribeSchema = z
  .object({
    channel: z.string().min(1).max(LIMITS.channelLength),
    filter: z
      .record(z.string(), filterValue)
      .superRefine((f, ctx) => {
        const keys = Object.keys(f);
        if (keys.length > LIMITS.filterColumns) ctx.addIssue({ code: 'custom', message: `at most ${LIMITS.filterColumns} filter columns` });
        for (const k of keys) {
          if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'filter keys are the row\'s field names, like projectId (column names like project_id work too)' });
        }
      })
      .optional(),
    since: z.number().int().min(0).optional(),
    fp: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'a fingerprint as a change carried it (base64url)')
      .max(64)
      .optional(),
    cursor: z.string().min(1).max(4096).optional(),
  })
  .strict();
same<z.infer<typeof subscribeSchema>, SubscribeRequest>(true);

export const unsubscribeSchema = z.object({ id: z.string().min(1).max(64) }).strict();
same<z.infer<typeof unsubscribeSchema>, UnsubscribeRequest>(true);

export const authSchema = z.object({ token: z.string().min(1).max(4096) }).strict();
same<z.infer<typeof authSchema>, AuthRequest>(true);

export const grantSchema = z.object({
  channels: z.array(z.string()).min(1),
  projects: z.array(z.string()).min(1),
});
same<z.infer<typeof grantSchema>, Grant>(true);

export const userClaimsSchema = z.object({ uid: z.string().uuid(), sid: z.string().uuid().optional() });
same<z.infer<typeof userClaimsSchema>, UserClaims>(true);

/** One line per zod issue, naming the field: what a client reads in an error ack. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'message'}: ${i.message}`).join('; ');
}
