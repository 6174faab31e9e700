// The configuration of `npm start`'s process: everything the gateway and replicator read,
// plus the demo simulator's pace.
import { z } from 'zod';
import { parseEnv } from '@realtime/db';
import { gatewayEnvSchema } from '@realtime/gateway';

export const apiEnvSchema = gatewayEnvSchema.extend({
  SIMULATOR_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1500),
  /** Base URLs of gateways whose clients `outbox stats` counts (comma-separated). */
  GATEWAY_URLS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((u) => u.trim()).filter(Boolean))
    .pipe(z.array(z.string().url('GATEWAY_URLS lists URLs like http://gateway-1:3000, separated by commas'))),
  SLOT_LAG_WARN_BYTES: z.coerce.number().int().min(0).default(1024 ** 3),
  BACKLOG_WARN_SECONDS: z.coerce.number().int().min(1).default(60),
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function loadApiEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  return parseEnv(apiEnvSchema, source);
}
