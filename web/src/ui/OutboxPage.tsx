// The change outbox for operators: replication health, a filterable list that follows
// new changes (the newest page, read every second) and loads older ones as the reader
// scrolls, and any row's history with what each change did to it. The list pages by
// position (below the last change read), so pages hold still while changes arrive, and
// it renders only the rows in view.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useInfiniteQuery, useQuery, useQueryClient, type InfiniteData } from '@tanstack/react-query';
import { api, type OutboxRow } from '../api';
import { MoreRows, Total, WindowRows, useWindowRows } from './ListWindow';
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
  // Opened from a row far down the list: brought into view, or nothing seems to happen.
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    panel.current?.scrollIntoView?.({ block: 'start' });
    panel.current?.focus({ preventScroll: true });
  }, [table, id]);
  return (
    <section className="panel" ref={panel} tabIndex={-1} aria-label={`History of ${table} ${id}`} data-testid="history">
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

/** Changes per page of the operators' list. */
const OUTBOX_PAGE = 100;

type OutboxPageData = Awaited<ReturnType<typeof api.outbox>>;
const changeKey = (r: OutboxRow) => r.id;

export function OutboxPage() {
  const qc = useQueryClient();
  const [filters, setFilters] = useState({ table: '', op: '', actor: '', rowId: '' });
  const [follow, setFollow] = useState(true);
  const [selected, setSelected] = useState<{ table: string; id: string } | null>(null);
  const params = Object.fromEntries(Object.entries({ ...filters, limit: String(OUTBOX_PAGE) }).filter(([, v]) => v));
  const queryKey = ['outbox', 'list', params];
  const changes = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam, signal }) => api.outbox(pageParam === null ? params : { ...params, before: String(pageParam) }, signal),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.page.next ?? undefined,
    // Following re-reads the newest page only: older pages are loaded by the reader, who stops following.
    refetchInterval: follow ? 1000 : false,
  });
  const rows = useMemo(() => (changes.data?.pages ?? []).flatMap((p) => p.items), [changes.data]);
  const first = changes.data?.pages[0]?.page;
  const streamed = useQuery({ queryKey: ['outbox', 'tables'], queryFn: api.outboxTables, staleTime: 60_000 });
  const tables = ['', ...(streamed.data?.tables ?? [])];
  const set = (k: keyof typeof filters) => (e: { target: { value: string } }) => setFilters({ ...filters, [k]: e.target.value });
  const setFollowing = (on: boolean) => {
    // Back to following: the newest page alone, read every second.
    if (on) qc.setQueryData<InfiniteData<OutboxPageData, number | null>>(queryKey, (d) => (d && d.pages.length > 1 ? { pages: [d.pages[0]!], pageParams: [d.pageParams[0]!] } : d));
    setFollow(on);
  };
  // Reading older changes: following would read every loaded page again each second.
  const fetchNextPage = useCallback(() => {
    setFollow(false);
    return changes.fetchNextPage();
  }, [changes.fetchNextPage]);
  const pages = { hasNextPage: changes.hasNextPage, isFetchingNextPage: changes.isFetchingNextPage, isFetchNextPageError: changes.isFetchNextPageError, fetchNextPage };
  const scrollRef = useRef<HTMLDivElement>(null);
  const { virtualizer, bodyProps } = useWindowRows({ rows, keyOf: changeKey, scrollRef, estimate: 37, pages });
  const open = (r: OutboxRow) => setSelected({ table: r.table_name, id: r.row_id });

  return (
    <>
      <div className="page-head">
        <h1>Change outbox</h1>
      </div>
      <Health />
      {selected ? <History table={selected.table} id={selected.id} onClose={() => setSelected(null)} /> : null}
      <section className="panel">
        <div className="panel-head">
          <h2>
            Changes <Total total={first?.total} label="changes" atLeast={first?.totalCapped} />
          </h2>
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
            <input type="checkbox" checked={follow} onChange={(e) => setFollowing(e.target.checked)} /> Follow new changes
          </label>
        </div>
        {changes.error && !changes.data ? <p className="error">{changes.error.message}</p> : null}
        <TableScroll label="Changes" scrollRef={scrollRef}>
          <table data-testid="outbox" className="nowrap" aria-rowcount={first && !first.totalCapped ? first.total + 1 : undefined}>
            <thead>
              <tr aria-rowindex={1}><th>Seq</th><th>Table</th><th>Op</th><th>Row</th><th>Actor</th><th>Committed</th></tr>
            </thead>
            <tbody {...bodyProps}>
              <WindowRows
                rows={rows}
                virtualizer={virtualizer}
                columns={6}
                row={(r, index, measure) => (
                  // A row opens its history by a click anywhere on it; its seq is a button, so
                  // every row is reachable by keyboard (Tab, then Enter or Space) at the
                  // table's start, on screen however wide the row is.
                  <tr key={r.id} ref={measure} data-index={index} data-key={r.id} data-id={r.id} aria-rowindex={index + 2} className="clickable" onClick={() => open(r)} data-testid="change">
                    <td>
                      <button type="button" className="ghost link" aria-label={`${r.seq ?? 'unstamped'}: history of ${r.table_name} ${r.row_id}`} onClick={(e) => { e.stopPropagation(); open(r); }}>
                        {r.seq ?? 'unstamped'}
                      </button>
                    </td>
                    <td>{r.table_name}</td>
                    <td><span className={`badge op-${r.op}`}>{r.op}</span></td>
                    <td className="mono small">{r.row_id}</td>
                    <td>{r.actor ?? '—'}</td>
                    <td className="muted small">{r.committed_at ?? '—'}</td>
                  </tr>
                )}
              />
            </tbody>
          </table>
        </TableScroll>
        {changes.isSuccess && rows.length === 0 ? <p className="muted">No changes match.</p> : null}
        <MoreRows pages={pages} shown={rows.length} total={first?.total} atLeast={first?.totalCapped} one="change" />
      </section>
    </>
  );
}
