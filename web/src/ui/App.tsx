// The app shell: the sign-in page while signed out; once signed in, a header with the
// user, the connection state and the flaky-network control, and the pages chosen by the
// URL hash (#/, #/projects/:id, #/outbox), no router needed.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { PersistQueryClientProvider } from '@tanstack/react-query-persist-client';
import type { Me } from '@realtime/api/types';
import { api, isApiError } from '../api';
import { meQuery } from '../qk';
import { RealtimeProvider, useConnection, useRealtimeClient } from '@realtime/react';
import { isSessionEnd } from '@realtime/client';
import { fetchToken, wsUrl } from '../live';
import { canPersist, forgetOtherUsers, forgetPersisted, persistOptionsFor } from '../persist';
import { ENDED_NOTICES, forgetSession, setEndedNotice, signedOut } from '../session';
import { forgetMe } from '../offline-me';
import { WritesProvider, forgetWrites, isWaiting, needsAttention, useWriteQueue } from '../writes';
import { WriteAlerts, WritesBadge, WritesPage } from './Writes';
import { Errors } from './Errors';
import { age } from './format';
import { useNow } from './hooks';
import { OutboxPage } from './OutboxPage';
import { ProjectPage } from './ProjectPage';
import { ProjectsPage } from './ProjectsPage';
import { SignInPage } from './SignInPage';

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function ConnectionBadge() {
  const c = useConnection();
  // The data's age, while offline, moves on by itself: a render every 5 s reads the clock.
  useNow(5000);
  const now = Date.now();
  const label =
    c.status === 'live'
      ? c.lastCatchUp > 0
        ? `Live · caught up on ${c.lastCatchUp} change${c.lastCatchUp === 1 ? '' : 's'}`
        : 'Live'
      : c.status === 'catching-up'
        ? c.behind > 0
          ? `Catching up · ${c.behind} to go`
          : `Catching up… ${c.catchingUp}`
        : c.status === 'offline'
          ? c.dataAt === null
            ? 'Offline'
            : `Offline · data from ${age(c.dataAt, Math.max(now, c.dataAt))}`
          : 'Connecting…';
  return (
    <span className={`badge conn conn-${c.status}`} data-testid="connection" data-status={c.status} data-behind={c.behind} data-data-at={c.dataAt ?? undefined}>
      <span className="dot" />
      {label}
    </span>
  );
}

function FlakyControl() {
  const client = useRealtimeClient();
  const [seconds, setSeconds] = useState(5);
  const c = useConnection();
  return (
    <span className="flaky">
      <label>
        Drop the connection for{' '}
        <input type="number" min={1} max={120} value={seconds} onChange={(e) => setSeconds(Math.max(1, Number(e.target.value) || 1))} /> s
      </label>
      <button className="ghost" disabled={c.status === 'offline'} onClick={() => client.dropFor(seconds * 1000)} data-testid="drop">
        Drop
      </button>
    </span>
  );
}

function Shell({ me }: { me: Me }) {
  const hash = useHash();
  const qc = useQueryClient();
  const client = useRealtimeClient();
  const writes = useWriteQueue();
  // Nothing of this user stays on this browser: the persisted lists and writes go too.
  const forgetUser = () => {
    void forgetPersisted(me.user.id);
    void writes.clear().then(() => forgetWrites(me.user.id));
    forgetMe();
    signedOut(qc);
    client.stop();
  };
  // Set while this page signs out: the stream's word that the session ended is then no news.
  const leaving = useRef(false);
  const signOut = useMutation({
    // Already signed out (the session expired meanwhile) is what was asked for.
    mutationFn: (everywhere: boolean) =>
      (everywhere ? api.signOutEverywhere().then(() => undefined) : api.signOut()).catch((e: unknown) => (isApiError(e, 401) ? undefined : Promise.reject(e))),
    onSuccess: forgetUser,
    onError: () => {
      leaving.current = false;
    },
  });
  // The server ended this session (signed out in another tab, everywhere, a password
  // reset, the account removed): the same as signing out here, and the sign-in page says why.
  useEffect(
    () =>
      client.on('unauthorized', (e) => {
        if (!isSessionEnd(e.reason) || leaving.current) return;
        setEndedNotice(ENDED_NOTICES[e.reason]);
        forgetUser();
      }),
    // What forgetUser reads: a new function each render, the same work.
    [client, me.user.id, writes, qc],
  );
  const outbox = hash.startsWith('#/outbox');
  const writesPage = hash.startsWith('#/writes');
  const askSignOut = (everywhere: boolean) => {
    const unsaved = writes.entries().filter((e) => isWaiting(e) && e.state !== 'sent').length + writes.entries().filter(needsAttention).length;
    // Signing out forgets this user's data on this browser, queued writes included.
    if (unsaved > 0 && !confirm(`${unsaved} change${unsaved === 1 ? ' is' : 's are'} not saved yet and will be lost if you sign out. Sign out anyway?`)) return;
    leaving.current = true;
    signOut.mutate(everywhere);
  };
  const m = /^#\/projects\/([0-9a-f-]{36})/.exec(hash);
  return (
    <div className="app">
      <header>
        <a href="#/" className="brand">
          <span className="logo">◆</span> Extraction <span className="muted">live</span>
        </a>
        <nav className="nav">
          <a href="#/" className={outbox ? '' : 'active'}>Projects</a>
          {me.user.operator ? <a href="#/outbox" className={outbox ? 'active' : ''}>Outbox</a> : null}
        </nav>
        <div className="header-right">
          <FlakyControl />
          <WritesBadge />
          <ConnectionBadge />
          <span className="session">
            <span className="user" data-testid="user" title={me.user.email}>{me.user.name || me.user.email}</span>
            <button className="ghost" onClick={() => askSignOut(false)} disabled={signOut.isPending}>
              Sign out
            </button>
            <button className="ghost" onClick={() => askSignOut(true)} disabled={signOut.isPending} title="Ends every session of yours, on every device and browser">
              Sign out everywhere
            </button>
          </span>
        </div>
      </header>
      <main>
        <Errors of={[signOut]} describe={(e) => `Could not sign out: ${e.message}`} />
        {writesPage ? null : <WriteAlerts />}
        {writesPage ? (
          <WritesPage />
        ) : outbox ? (
          me.user.operator ? <OutboxPage /> : <p className="muted">The change outbox is for operators.</p>
        ) : m ? (
          <ProjectPage id={m[1]!} />
        ) : (
          <ProjectsPage />
        )}
      </main>
    </div>
  );
}

/**
 * The signed-in user's live lists, restored from IndexedDB before the pages mount (so a
 * reload shows them at once and resumes their subscriptions) and saved as they change.
 * Mounted only once the user is known: nothing of another user is restored.
 */
function PersistedCache({ userId, children }: { userId: string; children: ReactNode }) {
  const qc = useQueryClient();
  const [options] = useState(() => (canPersist() ? persistOptionsFor(userId) : null));
  useEffect(() => {
    void forgetOtherUsers(userId);
  }, [userId]);
  if (!options) return <>{children}</>;
  return (
    <PersistQueryClientProvider client={qc} persistOptions={options}>
      {children}
    </PersistQueryClientProvider>
  );
}

export function App() {
  const qc = useQueryClient();
  const me = useQuery(meQuery);
  const signedOutNow = me.data === null;
  // Once the signed-in pages are unmounted, nothing of the session stays in the cache.
  useEffect(() => {
    if (signedOutNow) {
      forgetSession(qc);
      forgetMe();
    }
  }, [signedOutNow, qc]);
  if (me.data) {
    // One socket per signed-in user: a new user gets a new client, nothing carried over.
    return (
      <PersistedCache key={me.data.user.id} userId={me.data.user.id}>
        <RealtimeProvider key={me.data.user.id} url={wsUrl()} getToken={fetchToken}>
          <WritesProvider userId={me.data.user.id}>
            <Shell me={me.data} />
          </WritesProvider>
        </RealtimeProvider>
      </PersistedCache>
    );
  }
  if (me.data === null) return <SignInPage />;
  if (me.error) {
    return (
      <main className="sign-in">
        <p className="error">Could not reach the server: {me.error.message}</p>
        <button onClick={() => void me.refetch()}>Try again</button>
      </main>
    );
  }
  return <main className="sign-in muted">Loading…</main>;
}
