// The gateway's configuration, validated once; a bad value names its variable.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseEnv, realtimeTables } from '@realtime/db';
import { replicatorEnvSchema } from '@realtime/replicator';

/** A secret made of one short piece repeated, or of a handful of characters, is no secret. */
export function weakSecret(v: string): boolean {
  if (new Set(v).size < 10) return true;
  return /^(.{1,16})\1+$/s.test(v);
}

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const gatewayEnvSchema = replicatorEnvSchema.extend({
  REPLICATOR: z.enum(['0', '1']).default('1'),
  PG_CHANNELS: z
    .string()
    .default(realtimeTables.join(','))
    .transform((s) => s.split(',').map((c) => c.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'PG_CHANNELS lists table names separated by commas')).min(1)),
  FRONTEND_URL: z.string().url('FRONTEND_URL must be a URL, like http://localhost:3000').default('http://localhost:3000'),
  REALTIME_JWT_SECRET: z
    .string()
    .min(32, 'REALTIME_JWT_SECRET must be at least 32 characters (256 bits): openssl rand -hex 32 makes one')
    .refine((v) => !weakSecret(v), 'REALTIME_JWT_SECRET looks guessable (one piece repeated, or too few different characters): openssl rand -hex 32 makes one')
    .optional(),
  MAX_SUBSCRIPTIONS_PER_SOCKET: int(1, 10_000, 100),
  SOCKET_QUEUE_LIMIT: int(10, 1_000_000, 5000),
  REPLAY_PAGE_SIZE: int(10, 100_000, 1000),
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export function loadGatewayEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  return parseEnv(gatewayEnvSchema, source);
}

/** The secret as bytes; a random one (and a warning to say so) when none is configured. */
export function jwtSecret(env: GatewayEnv): { secret: Uint8Array; generated: boolean } {
  if (env.REALTIME_JWT_SECRET) return { secret: new TextEncoder().encode(env.REALTIME_JWT_SECRET), generated: false };
  return { secret: randomBytes(32), generated: true };
}
