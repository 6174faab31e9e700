// The user's writes as the UI shows them: a header count of what is waiting, an alert for
// each write the server refused or found in conflict, the page that lists every write
// with its state (retry, discard, keep mine / take theirs), and the mark a pending row
// carries in its list.
import type { WriteEntry } from '@realtime/client';
import type { Mark } from '../overlay';
import { isWaiting, needsAttention, useWriteEntries, useWriteQueue } from '../writes';

const verbs: Record<WriteEntry['kind'], string> = { create: 'Create', update: 'Change', delete: 'Delete' };

/** What a write is about, in a few words: its resource and the row's name where it has one. */
export function describeWrite(e: WriteEntry): string {
  const what = e.resource.replace(/-/g, ' ').replace(/s$/, '');
  const body = e.body ?? {};
  const name = (['name', 'documentName', 'supplierName', 'fieldName'] as const).map((k) => body[k]).find((v) => typeof v === 'string');
  const fields = e.kind === 'update' ? Object.keys(body).join(', ') : '';
  return `${verbs[e.kind]} ${what}${name ? ` "${name as string}"` : ` ${e.rowId.substring(0, 8)}`}${fields ? ` (${fields})` : ''}`;
}

const stateLabels: Record<WriteEntry['state'], string> = {
  queued: 'waiting to be sent',
  sending: 'sending',
  sent: 'saved, waiting for the live stream',
  confirmed: 'saved',
  failed: 'refused',
  conflict: 'conflict',
};

/** The header's count: writes not yet applied, and those that need a decision. */
export function WritesBadge() {
  const entries = useWriteEntries();
  const waiting = entries.filter(isWaiting).length;
  const attention = entries.filter(needsAttention).length;
  if (waiting === 0 && attention === 0) return null;
  const label = [waiting ? `${waiting} change${waiting === 1 ? '' : 's'} waiting` : '', attention ? `${attention} to review` : ''].filter(Boolean).join(' · ');
  return (
    <a href="#/writes" className={`badge writes${attention ? ' writes-attention' : ''}`} data-testid="writes" data-waiting={waiting} data-attention={attention}>
      {label}
    </a>
  );
}

/** Most alert lines, one per write; more writes than that are told as one line with their count. */
const ALERT_LINES = 3;

/**
 * A line for each refused or conflicting write, on every page: no write fails unsaid.
 * Many of them at once are one line with the count: the writes page lists each.
 */
export function WriteAlerts() {
  const entries = useWriteEntries().filter(needsAttention);
  if (entries.length === 0) return null;
  if (entries.length > ALERT_LINES) {
    const conflicts = entries.filter((e) => e.state === 'conflict').length;
    const refused = entries.length - conflicts;
    const parts = [refused ? `${refused} refused` : '', conflicts ? `${conflicts} in conflict with someone else's` : ''].filter(Boolean).join(' and ');
    return (
      <div className="write-alerts" role="alert" data-testid="write-alerts">
        <p className="error">
          {entries.length} of your changes were not saved ({parts}). <a href="#/writes" className="link">Review them</a>
        </p>
      </div>
    );
  }
  return (
    <div className="write-alerts" role="alert" data-testid="write-alerts">
      {entries.map((e) => (
        <p key={e.id} className="error">
          {describeWrite(e)}: {e.state === 'conflict' ? 'someone else changed it meanwhile' : (e.error?.message ?? 'refused')}.{' '}
          <a href="#/writes" className="link">Review</a>
        </p>
      ))}
    </div>
  );
}

/** The fields where mine and theirs differ (server fields aside). */
function differences(mine: Record<string, unknown>, theirs: Record<string, unknown>): { field: string; mine: unknown; theirs: unknown }[] {
  return Object.keys(mine)
    .filter((f) => JSON.stringify(mine[f]) !== JSON.stringify(theirs[f]))
    .map((field) => ({ field, mine: mine[field], theirs: theirs[field] }));
}

const show = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

export function WritesPage() {
  const queue = useWriteQueue();
  const entries = useWriteEntries();
  return (
    <section className="panel" data-testid="writes-page">
      <h1>Your changes</h1>
      <p className="muted">
        Changes are kept on this device until the server has applied them and the live stream has shown them back, so none is lost to a bad network or a closed tab. A change
        made against a version of a row that someone else has changed since is held here for you to decide.
      </p>
      {entries.length === 0 ? <p className="muted">Nothing waiting: every change is saved.</p> : null}
      <ul className="rows writes-list">
        {entries.map((e) => (
          <li key={e.id} data-testid="write" data-state={e.state} data-kind={e.kind} data-row={e.rowId}>
            <div>
              <strong>{describeWrite(e)}</strong>
              <div className="muted small">
                {stateLabels[e.state]}
                {e.attempts > 0 && e.state === 'queued' ? ` · tried ${e.attempts} time${e.attempts === 1 ? '' : 's'}${e.error ? ` (${e.error.message})` : ''}` : ''}
              </div>
              {e.state === 'failed' ? <div className="error small">{e.error?.message}</div> : null}
              {e.state === 'conflict' && e.current ? (
                <table className="conflict small" data-testid="conflict">
                  <thead>
                    <tr><th>Field</th><th>Yours</th><th>Now on the server</th></tr>
                  </thead>
                  <tbody>
                    {differences(e.body ?? {}, e.current).map((d) => (
                      <tr key={d.field}><td>{d.field}</td><td>{show(d.mine)}</td><td>{show(d.theirs)}</td></tr>
                    ))}
                    {e.kind === 'delete' ? <tr><td colSpan={3}>You deleted it; it was changed meanwhile.</td></tr> : null}
                  </tbody>
                </table>
              ) : null}
            </div>
            <div className="actions">
              {e.state === 'conflict' ? (
                <>
                  <button onClick={() => queue.resolveConflict(e.id, 'mine')}>Keep mine</button>
                  <button className="ghost" onClick={() => queue.resolveConflict(e.id, 'theirs')}>Take theirs</button>
                </>
              ) : null}
              {e.state === 'failed' ? <button onClick={() => queue.retry(e.id)}>Retry</button> : null}
              {e.state === 'queued' && e.attempts > 0 ? <button className="ghost" onClick={() => queue.retry(e.id)}>Send now</button> : null}
              {e.state !== 'sending' && e.state !== 'confirmed' && e.state !== 'conflict' ? (
                <button className="ghost danger" onClick={() => queue.discard(e.id)}>
                  Discard
                </button>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The mark of a row that waits for a write: pending, refused or in conflict. */
export function PendingMark({ mark }: { mark: Mark | undefined }) {
  if (!mark) return null;
  const text = mark.state === 'conflict' ? 'conflict' : mark.state === 'failed' ? 'refused' : mark.kind === 'delete' ? 'deleting…' : 'pending';
  return (
    <span className={`badge pending pending-${mark.state}`} data-testid="pending" data-state={mark.state} title={mark.message}>
      {mark.state === 'conflict' || mark.state === 'failed' ? <a href="#/writes">{text}</a> : text}
    </span>
  );
}
