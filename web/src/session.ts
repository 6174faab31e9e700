// The session's transitions over the query cache: the `me` query is the one source of
// who is signed in, and nothing cached for one user survives into the next session. When
// the server ends the session (signed out elsewhere, a password reset), the sign-in page
// says why.
import { useSyncExternalStore } from 'react';
import { hashKey, type QueryClient } from '@tanstack/react-query';
import type { Me } from '@realtime/api/types';
import type { SessionEndReason } from '@realtime/client';
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
  setEndedNotice(null);
  forgetSession(qc);
  qc.setQueryData(meQuery.queryKey, me);
}

/** After sign-out, or any 401: the app shows the sign-in page, then forgets the rest. */
export function signedOut(qc: QueryClient): void {
  if (qc.getQueryData(meQuery.queryKey) !== null) qc.setQueryData(meQuery.queryKey, null);
}

/** What the sign-in page tells a user whose session the server ended, by why it ended. */
export const ENDED_NOTICES: Record<SessionEndReason, string> = {
  'signed-out': 'You were signed out (in another tab or window).',
  'signed-out-everywhere': 'You were signed out on every device.',
  'password-reset': 'Your password was reset, which signs you out everywhere. Sign in with the new password.',
  'user-removed': 'Your account was removed. Ask an operator if you need access again.',
  'session-ended': 'Your session ended. Sign in again.',
};

// Outside the query cache on purpose: the cache is emptied on the way to the sign-in page.
let endedNotice: string | null = null;
const noticeListeners = new Set<() => void>();

export function setEndedNotice(text: string | null): void {
  if (text === endedNotice) return;
  endedNotice = text;
  for (const fn of noticeListeners) fn();
}

/** Why the server ended the last session, until the next sign-in (null when it did not). */
export function useEndedNotice(): string | null {
  return useSyncExternalStore(
    (fn) => {
      noticeListeners.add(fn);
      return () => noticeListeners.delete(fn);
    },
    () => endedNotice,
  );
}
