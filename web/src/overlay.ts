// What a live list shows while writes wait: the server's rows (the cache the stream keeps)
// with the queued writes of the same resource laid over them, each changed row marked. The
// cache itself is never edited: the stream's changes and a refetch stay the one truth, and
// a write that is refused simply stops being laid over (the row goes back to the server's
// version, visibly, and the writes list says why).
import type { WriteEntry, WriteState } from '@realtime/client';
import type { Row } from './api';

export interface Mark {
  kind: WriteEntry['kind'];
  state: WriteState;
  entryId: string;
  /** For `failed` and `conflict`: the server's reason. */
  message?: string;
  /** The row exists only here: created by a write the server has not applied (or the stream not shown) yet. */
  created?: boolean;
}

export interface Overlaid<T extends Row> {
  items: T[];
  /** By row id: the write the row waits for (a conflict or refusal before anything else). */
  marks: Map<string, Mark>;
}

const weight: Record<WriteState, number> = { conflict: 5, failed: 4, sending: 3, queued: 2, sent: 1, confirmed: 0 };

/**
 * `entries` in queue order (all resources; only `resource`'s are used). `belongs` says
 * whether a row created offline belongs in this list (a project's child lists take only
 * their project's rows); without it, every create of the resource does.
 */
export function overlay<T extends Row>(items: readonly T[], entries: readonly WriteEntry[], resource: string, belongs: (row: Record<string, unknown>) => boolean = () => true): Overlaid<T> {
  const marks = new Map<string, Mark>();
  const mark = (e: WriteEntry) => {
    const was = marks.get(e.rowId);
    if (was && weight[was.state] > weight[e.state]) return;
    marks.set(e.rowId, { kind: e.kind, state: e.state, entryId: e.id, ...(e.error ? { message: e.error.message } : {}) });
  };
  let out = [...items];
  const created: T[] = [];
  for (const e of entries) {
    if (e.resource !== resource || e.state === 'confirmed') continue;
    const at = out.findIndex((r) => r.id === e.rowId);
    const refused = e.state === 'failed' || e.state === 'conflict';
    if (e.kind === 'create') {
      if (refused) {
        // Rolled back: shown only if the server has the row after all (another write made it).
        if (at >= 0) mark(e);
        continue;
      }
      if (at >= 0) {
        mark(e);
        continue;
      }
      const body = e.body ?? {};
      if (!belongs(body)) continue;
      const when = new Date(e.createdAt).toISOString();
      created.unshift({ createdAt: when, updatedAt: when, version: 1, ...body, id: e.rowId } as unknown as T);
      mark(e);
      continue;
    }
    const pendingCreate = created.findIndex((r) => r.id === e.rowId);
    if (at < 0 && pendingCreate < 0) continue;
    mark(e);
    if (refused) continue;
    if (e.kind === 'update' && e.body) {
      if (at >= 0) {
        out = [...out];
        out[at] = { ...out[at]!, ...e.body };
      } else created[pendingCreate] = { ...created[pendingCreate]!, ...e.body };
    }
  }
  for (const r of created) {
    const m = marks.get(r.id);
    if (m) marks.set(r.id, { ...m, created: true });
  }
  return { items: created.length ? [...created, ...out] : out, marks };
}
