// The app shell: a header with the connection state and the flaky-network control, and
// two pages chosen by the URL hash (#/ and #/projects/:id), no router needed.
import { useEffect, useState } from 'react';
import { useConnection, useRealtimeClient } from '../realtime/react';
import { ProjectsPage } from './ProjectsPage';
import { ProjectPage } from './ProjectPage';
import { OutboxPage } from './OutboxPage';

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
  const label =
    c.status === 'live'
      ? c.lastCatchUp > 0
        ? `Live · caught up on ${c.lastCatchUp} change${c.lastCatchUp === 1 ? '' : 's'}`
        : 'Live'
      : c.status === 'catching-up'
        ? `Catching up… ${c.catchingUp}`
        : c.status === 'offline'
          ? 'Offline · polling'
          : 'Connecting…';
  return (
    <span className={`badge conn conn-${c.status}`} data-testid="connection" data-status={c.status}>
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

export function App() {
  const hash = useHash();
  const m = /^#\/projects\/([0-9a-f-]{36})/.exec(hash);
  return (
    <div className="app">
      <header>
        <a href="#/" className="brand">
          <span className="logo">◆</span> Extraction <span className="muted">live</span>
        </a>
        <nav className="nav">
          <a href="#/" className={hash.startsWith('#/outbox') ? '' : 'active'}>Projects</a>
          <a href="#/outbox" className={hash.startsWith('#/outbox') ? 'active' : ''}>Outbox</a>
        </nav>
        <div className="header-right">
          <FlakyControl />
          <ConnectionBadge />
        </div>
      </header>
      <main>{hash.startsWith('#/outbox') ? <OutboxPage /> : m ? <ProjectPage id={m[1]!} /> : <ProjectsPage />}</main>
    </div>
  );
}
