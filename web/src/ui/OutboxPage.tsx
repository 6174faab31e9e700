// The change outbox for operators: replication health, a filterable list that follows
// new changes, and any row's history with what each change did to it.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { TableScroll } from './TableScroll';


function Health() {
  const { data, error } = useQuery({ queryKey: ['outbox', 'stats'], queryFn: api.outboxStats, refetchInterval: 3000 });
  if (error) return <p className="error">Stats unavailable: {(error as Error).message}</p>;
  if (!data) return <p className="muted">Loading…</p>;
  const items: [string, string][] = [
    ['Mode', data.reason ? `${data.mode} (${data.reason})` : data.mode],
    ['Head seq', String(data.headSeq)],
    ['Unstamped', String(data.backlog)],
    ['Slot lag', data.slotLagBytes === null ? '—' : `${(data.slotLagBytes / 1024).toFixed(1)} KiB`],
    ['Retention floor', String(data.retentionFloor)],
    ['Leader', data.leader ?? '—'],
  ];
  return (
    <section className="panel">
      <h2>Replication health</h2>
      <div className="stats">
        {items.map(([k, v]) => (
          <div key={k}>
            <span className="muted small">{k}</span>
            <strong data-testid={`stat-${k}`}>{v}</strong>
          </div>
        ))}
      </div>
      {data.warnings.map((w) => (
        <p key={w} className="error small">⚠ {w}</p>
      ))}
    </section>
  );
}

function History({ table, id, onClose }: { table: string; id: string; onClose: () => void }) {
  const { data } = useQuery({ queryKey: ['outbox', 'history', table, id], queryFn: () => api.outboxHistory(table, id) });
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>History of {table} {id}</h2>
        <button className="ghost" onClick={onClose}>Close</button>
      </div>
      {data?.truncated && (
        <p className="muted small">
          The latest {data.changes.length} changes; <code>npm run outbox -- history {table} {id}</code> prints all of them.
        </p>
      )}
      <ol className="history">
        {data?.changes.map((h, i) => (
          <li key={i}>
            <div>
              <span className={`badge op-${h.op}`}>{h.op}</span> seq {h.seq ?? '(unstamped)'} by <strong>{h.actor ?? 'no actor'}</strong>{' '}
              <span className="muted small">{h.committedAt ?? h.createdAt}</span>
            </div>
            <ul className="diff">
              {h.changes.map((c) => (
                <li key={c.column}>
                  <code>{c.column}</code>: <del>{JSON.stringify(c.from)}</del> → <ins>{JSON.stringify(c.to)}</ins>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

export function OutboxPage() {
  const [filters, setFilters] = useState({ table: '', op: '', actor: '', rowId: '' });
  const [follow, setFollow] = useState(true);
  const [selected, setSelected] = useState<{ table: string; id: string } | null>(null);
  const params = Object.fromEntries(Object.entries({ ...filters, limit: '100' }).filter(([, v]) => v));
  const { data, error } = useQuery({ queryKey: ['outbox', 'list', params], queryFn: () => api.outbox(params), refetchInterval: follow ? 1000 : false });
  const streamed = useQuery({ queryKey: ['outbox', 'tables'], queryFn: api.outboxTables, staleTime: 60_000 });
  const tables = ['', ...(streamed.data?.tables ?? [])];
  const set = (k: keyof typeof filters) => (e: { target: { value: string } }) => setFilters({ ...filters, [k]: e.target.value });
  return (
    <>
      <div className="page-head">
        <h1>Change outbox</h1>
      </div>
      <Health />
      {selected ? <History table={selected.table} id={selected.id} onClose={() => setSelected(null)} /> : null}
      <section className="panel">
        <div className="panel-head">
          <div className="inline-form">
            <select value={filters.table} onChange={set('table')} aria-label="Table">
              {tables.map((t) => (
                <option key={t} value={t}>{t || 'all tables'}</option>
              ))}
            </select>
            <select value={filters.op} onChange={set('op')} aria-label="Operation">
              <option value="">all ops</option>
              <option>INSERT</option>
              <option>UPDATE</option>
              <option>DELETE</option>
            </select>
            <input placeholder="actor" aria-label="Actor" value={filters.actor} onChange={set('actor')} />
            <input placeholder="row id" aria-label="Row id" value={filters.rowId} onChange={set('rowId')} />
          </div>
          <label className="small">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow new changes
          </label>
        </div>
        {error ? <p className="error">{(error as Error).message}</p> : null}
        <TableScroll label="Changes">
          <table data-testid="outbox" className="nowrap">
            <thead>
              <tr><th>Seq</th><th>Table</th><th>Op</th><th>Row</th><th>Actor</th><th>Committed</th></tr>
            </thead>
            <tbody>
              {data?.items.map((r) => (
                <tr key={r.id} className="clickable" onClick={() => setSelected({ table: r.table_name, id: r.row_id })}>
                  <td>{r.seq ?? <span className="muted">unstamped</span>}</td>
                  <td>{r.table_name}</td>
                  <td><span className={`badge op-${r.op}`}>{r.op}</span></td>
                  <td className="mono small">{r.row_id}</td>
                  <td>{r.actor ?? '—'}</td>
                  <td className="muted small">{r.committed_at ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      </section>
    </>
  );
}
