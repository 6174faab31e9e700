// The configuration of `npm start`'s process: everything the gateway and replicator read,
// plus the demo simulator's pace.
import { z } from 'zod';
import { parseEnv } from '@realtime/db';
import { gatewayEnvSchema } from '@realtime/gateway';

export const apiEnvSchema = gatewayEnvSchema.extend({
  SIMULATOR_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1500),
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function loadApiEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  return parseEnv(apiEnvSchema, source);
}
