// The session's transitions over the query cache: the `me` query is the one source of
// who is signed in, and nothing cached for one user survives into the next session.
import { hashKey, type QueryClient } from '@tanstack/react-query';
import type { Me } from '@realtime/protocol';
import { meQuery } from './qk';

const meHash = hashKey(meQuery.queryKey);

/**
 * Every query and mutation but `me`, which stays: the app's observer of it would not
 * hear of a removed query. Run it when no signed-in page is mounted, or their observers
 * would build their queries again (and ask the server, signed out).
 */
export function forgetSession(qc: QueryClient): void {
  qc.removeQueries({ predicate: (q) => q.queryHash !== meHash });
  qc.getMutationCache().clear();
}

export function signedIn(qc: QueryClient, me: Me): void {
  forgetSession(qc);
  qc.setQueryData(meQuery.queryKey, me);
}

/** After sign-out, or any 401: the app shows the sign-in page, then forgets the rest. */
export function signedOut(qc: QueryClient): void {
  if (qc.getQueryData(meQuery.queryKey) !== null) qc.setQueryData(meQuery.queryKey, null);
}
