// The pure half of the change log: what a stream entry is (its ID from the seq, its `c`
// field from the change), the rule for which changes of a batch are appended, and the
// retention bound. The Lua script in script.ts applies the same rules inside Redis; these
// functions are its readable, table-tested twin, and what the TS side checks a batch with
// before it is sent.
import type { StampedChange } from '@realtime/db';

/** A stamped change as the log holds it: the outbox id, row id and actor stay in Postgres. */
export type LogChange = Omit<StampedChange, 'id' | 'rowId' | 'actor'>;

/** A malformed stream entry: names the key and the entry ID, and what is wrong with it. */
export class LogEntryError extends Error {
  override readonly name = 'LogEntryError';
  constructor(
    readonly key: string,
    readonly entryId: string,
    problem: string,
  ) {
    super(`change log entry ${entryId} of ${key} is malformed: ${problem}; the stream was written by something other than @realtime/changelog (open a new epoch to start a clean history)`);
  }
}

// Types only from @realtime/db; this list must name every op of its type (checked below).
const OPS = ['INSERT', 'UPDATE', 'DELETE'] as const satisfies readonly LogChange['op'][];
type MissingOp = Exclude<LogChange['op'], (typeof OPS)[number]>;
const everyOp: [MissingOp] extends [never] ? true : never = true;
void everyOp;

function isSeq(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
}

/** The stream entry ID of a seq: `<seq>-0`. */
export function entryId(seq: number): string {
  if (!isSeq(seq)) throw new RangeError(`a change log seq is a safe integer >= 1, not ${String(seq)}`);
  return `${seq}-0`;
}

/** The seq of a stream entry ID `<seq>-0`, or null for any other ID. */
export function seqOfEntryId(id: string): number | null {
  const m = /^([1-9]\d*)-0$/.exec(id);
  if (!m) return null;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) ? seq : null;
}

/** The `c` field of a change: its JSON, in a fixed field order. */
export function encodeChange(c: LogChange): string {
  if (!isSeq(c.seq)) throw new RangeError(`a change log seq is a safe integer >= 1, not ${String(c.seq)}`);
  // Picked one by one: a StampedChange passed in keeps its id, rowId and actor out of the log.
  const { seq, table, op, newRow, oldRow, txid, committedAt, rowBytes, fp } = c;
  return JSON.stringify({ seq, table, op, newRow, oldRow, txid, committedAt, rowBytes, fp });
}

function isRow(v: unknown): v is Record<string, unknown> | null {
  return v === null || (typeof v === 'object' && !Array.isArray(v));
}

/** The change of a stream entry (its ID and its field/value pairs), or a LogEntryError naming both. */
export function decodeEntry(key: string, id: string, fields: Record<string, string | undefined>): LogChange {
  const seq = seqOfEntryId(id);
  if (seq === null) throw new LogEntryError(key, id, 'its ID is not <seq>-0');
  const raw = fields.c;
  if (raw === undefined) throw new LogEntryError(key, id, 'it has no field c');
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new LogEntryError(key, id, `field c is not JSON (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LogEntryError(key, id, 'field c is not a JSON object');
  const o = v as Record<string, unknown>;
  const wrong: string[] = [];
  if (o.seq !== seq) wrong.push(`seq ${JSON.stringify(o.seq)} is not the ID's ${seq}`);
  if (typeof o.table !== 'string') wrong.push('table is not a string');
  if (!OPS.includes(o.op as LogChange['op'])) wrong.push(`op ${JSON.stringify(o.op)} is not one of ${OPS.join(', ')}`);
  if (!isRow(o.newRow)) wrong.push('newRow is not an object or null');
  if (!isRow(o.oldRow)) wrong.push('oldRow is not an object or null');
  if (typeof o.txid !== 'string') wrong.push('txid is not a string');
  if (typeof o.committedAt !== 'string') wrong.push('committedAt is not a string');
  if (typeof o.rowBytes !== 'number' || !Number.isFinite(o.rowBytes)) wrong.push('rowBytes is not a number');
  if (typeof o.fp !== 'string') wrong.push('fp is not a string');
  if (wrong.length > 0) throw new LogEntryError(key, id, wrong.join('; '));
  return {
    seq,
    table: o.table as string,
    op: o.op as LogChange['op'],
    newRow: o.newRow as LogChange['newRow'],
    oldRow: o.oldRow as LogChange['oldRow'],
    txid: o.txid as string,
    committedAt: o.committedAt as string,
    rowBytes: o.rowBytes as number,
    fp: o.fp as string,
  };
}

/** Why a batch cannot be appended at all: the caller's bug, not a state of the log. */
export class BatchOrderError extends Error {
  override readonly name = 'BatchOrderError';
}

/** Checks that a batch's seqs are safe integers, each one more than the one before. */
export function checkBatch(seqs: readonly number[]): void {
  seqs.forEach((seq, i) => {
    if (!isSeq(seq)) throw new BatchOrderError(`change log batch: seq at index ${i} is ${String(seq)}, not a safe integer >= 1`);
    const prev = seqs[i - 1];
    if (prev !== undefined && seq !== prev + 1) {
      throw new BatchOrderError(`change log batch: seq ${seq} at index ${i} does not follow ${prev}; append a dense run in seq order (split the batch at the hole)`);
    }
  });
}

/**
 * What an append of a dense batch does on a stream whose last seq is `last` (null: empty):
 * the changes at or below `last` are skipped (a second writer, or a retry, already put
 * them there); the rest is appended when it starts at `last + 1` (any start on an empty
 * stream); otherwise nothing is written and the caller fills `(last, first)` first.
 */
export type AppendPlan = { kind: 'append'; skip: number; append: number } | { kind: 'gap'; gapAfter: number };

export function planAppend(last: number | null, seqs: readonly number[]): AppendPlan {
  checkBatch(seqs);
  const first = seqs[0];
  if (first === undefined) return { kind: 'append', skip: 0, append: 0 };
  const skip = last === null ? 0 : Math.min(seqs.length, Math.max(0, last - first + 1));
  const next = seqs[skip];
  if (next !== undefined && last !== null && next !== last + 1) return { kind: 'gap', gapAfter: last };
  return { kind: 'append', skip, append: seqs.length - skip };
}

export interface Retention {
  /** Keep (about) the newest this many entries. */
  maxLen?: number;
  /** Keep every entry appended less than this long ago (by Redis's clock). */
  minAgeMs?: number;
}

/** The retention as given, or an error naming what is wrong and what to give. */
export function checkRetention(r: Retention): Required<{ maxLen: number | null; minAgeMs: number | null }> {
  const { maxLen, minAgeMs } = r;
  if (maxLen === undefined && minAgeMs === undefined) {
    throw new RangeError('change log retention needs maxLen, minAgeMs or both: without either the stream grows until Redis runs out of memory');
  }
  if (maxLen !== undefined && (!Number.isSafeInteger(maxLen) || maxLen < 1)) throw new RangeError(`change log retention maxLen is a whole number >= 1, not ${String(maxLen)}`);
  if (minAgeMs !== undefined && (!Number.isSafeInteger(minAgeMs) || minAgeMs < 0)) throw new RangeError(`change log retention minAgeMs is a whole number of milliseconds >= 0, not ${String(minAgeMs)}`);
  return { maxLen: maxLen ?? null, minAgeMs: minAgeMs ?? null };
}

/**
 * The lowest seq that retention keeps, on a stream holding `first..last`. An entry is kept
 * while it is among the newest `maxLen` OR younger than `minAgeMs` (`youngFrom`: the first
 * seq appended at or after now - minAgeMs, `last` if none is); the newest entry is always
 * kept, so the stream's last seq and fingerprint stay readable. Null: trim nothing.
 */
export function keepFrom(first: number, last: number, maxLen: number | null, youngFrom: number | null): number | null {
  const bounds = [maxLen === null ? null : last - maxLen + 1, youngFrom].filter((b): b is number => b !== null);
  if (bounds.length === 0) return null;
  const from = Math.min(last, Math.min(...bounds));
  return from > first ? from : null;
}
