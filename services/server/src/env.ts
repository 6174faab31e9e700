// The configuration of `npm start`'s process: every part's own variables, spread from
// their pieces, and the two that say which parts run here (REPLICATOR, REPLICATOR_THREAD).
import { z } from 'zod';
import { dbEnv, demoEnv } from '@realtime/db';
import { httpLimitsEnv, listenEnv, logEnv, metricsEnv, parseEnv, realtimeSecretEnv, requireSharedSecret } from '@realtime/runtime';
import { replicatorEnv } from '@realtime/replicator';
import { changelogEnv } from '@realtime/changelog';
import { checkHeartbeat, gatewayEnv } from '@realtime/gateway';
import { apiEnv, checkOidc } from '@realtime/api';

export const serverEnvSchema = z
  .object({
    ...logEnv,
    ...dbEnv,
    ...demoEnv,
    ...listenEnv,
    ...metricsEnv,
    ...httpLimitsEnv,
    ...realtimeSecretEnv,
    ...replicatorEnv,
    ...changelogEnv,
    ...gatewayEnv,
    ...apiEnv,
    /** 1: the replicator runs in this process; 0: beside a separate one (npm run replicator). */
    REPLICATOR: z.enum(['0', '1']).default('1'),
    /** With REPLICATOR=1: 1 runs it in a worker thread, off the event loop of the sockets and the API; 0 on the main thread (for debugging). */
    REPLICATOR_THREAD: z.enum(['0', '1']).default('1'),
  })
  .superRefine((env, ctx) => {
    checkHeartbeat(env, ctx);
    checkOidc(env, ctx);
    // A generated secret is one process's own: beside a separate replicator, several such
    // processes run at once, and a token one of them issued must be good at all of them.
    if (env.REPLICATOR === '0') requireSharedSecret(env, ctx, 'when REPLICATOR=0: processes that run side by side must share it');
  });

export type ServerEnv = z.infer<typeof serverEnvSchema>;

export function loadServerEnv(source: Record<string, string | undefined> = process.env): ServerEnv {
  return parseEnv(serverEnvSchema, source);
}
