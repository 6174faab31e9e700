// The live lists persisted across reloads, per signed-in user: in IndexedDB (idb-keyval's
// default store, key `realtime-cache:<userId>`), for at most PERSIST_MAX_AGE (7 days).
// Only the live lists go there (useLiveQuery marks them), each with the stream position
// it is at, so that a reload shows them at once and resumes each subscription from that
// position instead of reading the lists again. Cleared on sign-out and when another user
// signs in on this browser.
import { createAsyncStoragePersister } from '@tanstack/query-async-storage-persister';
import { del, get, keys, set } from 'idb-keyval';
import { DEFAULT_PERSIST_MAX_AGE, livePersistOptions } from '@realtime/react';

export const PERSIST_PREFIX = 'realtime-cache:';
/** A persisted state older than this is dropped and the lists are read again. */
export const PERSIST_MAX_AGE = DEFAULT_PERSIST_MAX_AGE;
/** Bumped when the cached lists' shape changes: a persisted state with another one is dropped. */
const BUSTER = 'lists-2';

export const persistKey = (userId: string) => `${PERSIST_PREFIX}${userId}`;

/** IndexedDB as this browser has it (none in some tests and private modes): without it, nothing is persisted. */
export const canPersist = (): boolean => typeof indexedDB !== 'undefined';

/** Opens idb-keyval's database ahead of its first read (a lookup of nothing); failures are the restore's to report. */
export function openPersistStore(): void {
  if (canPersist()) void get('realtime-open').catch(() => undefined);
}

/** Each user's open persisters: closed on sign-out, so that a save still pending writes nothing. */
const open = new Map<string, Set<{ closed: boolean }>>();

/** The persistOptions of PersistQueryClientProvider for this user (one per mount). */
export function persistOptionsFor(userId: string) {
  const handle = { closed: false };
  let set_ = open.get(userId);
  if (!set_) open.set(userId, (set_ = new Set()));
  set_.add(handle);
  const persister = createAsyncStoragePersister({
    key: persistKey(userId),
    storage: {
      getItem: (k: string) => get<string>(k).then((v) => v ?? null),
      setItem: (k: string, v: string) => (handle.closed ? Promise.resolve() : set(k, v)),
      removeItem: (k: string) => del(k),
    },
  });
  return livePersistOptions({ persister, maxAge: PERSIST_MAX_AGE, buster: BUSTER });
}

/** Sign-out: this user's persisted lists are gone, and no pending save brings them back. */
export async function forgetPersisted(userId: string): Promise<void> {
  for (const h of open.get(userId) ?? []) h.closed = true;
  open.delete(userId);
  if (canPersist()) await del(persistKey(userId)).catch(() => undefined);
}

/** Signed in as `userId`: any other user's persisted lists on this browser are deleted. */
export async function forgetOtherUsers(userId: string): Promise<void> {
  if (!canPersist()) return;
  const all = await keys().catch(() => [] as IDBValidKey[]);
  await Promise.all(
    all.filter((k): k is string => typeof k === 'string' && k.startsWith(PERSIST_PREFIX) && k !== persistKey(userId)).map((k) => del(k).catch(() => undefined)),
  );
}
