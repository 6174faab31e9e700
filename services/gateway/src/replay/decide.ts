// Whether a resume replays, decided from what the outbox holds: every position the client
// gave is the change stamped there (history.ts), its range is whole, its pending digest
// matches; then whether `since` is inside what the outbox keeps, and whether the outbox
// has caught up with what the feed already sent. Pure: the replayer reads, this decides.
import type { ResyncReason } from '@realtime/protocol';
import { gapVerdict, pendingVerdict, resumeVerdict, worst, type Position } from './history';

export interface ResumeCheck {
  fps: Map<number, string>;
  /** Rows stamped in (since, head]; null when not counted here (the replay counts them at its first outbox page). */
  inRange: number | null;
  floor: number;
  pendingDigest: string | null;
}

export interface ReplayFacts {
  since: number;
  positions: Position[];
  /** The outbox's bounds read before the check. */
  bounds: { head: number; floor: number };
  check: ResumeCheck;
  /** The cursor's head and pending digest (when the client sent a cursor). */
  cursor: { headSeq: number; digest: string | null } | null;
  /** The feed's position when the subscription joined it. */
  joinedAt: number;
}

/**
 * 'read', or the resync the subscription gets instead; `logged` marks a history that
 * changed under the client (worth a warning, with what was found).
 */
export type ReplayDecision = { kind: 'read'; floor: number } | { kind: 'resync'; reason: ResyncReason; logged: boolean };

export function replayDecision(f: ReplayFacts): ReplayDecision {
  const b = { floor: Math.max(f.bounds.floor, f.check.floor), head: f.bounds.head };
  const verdict = worst([
    ...f.positions.map((p) => resumeVerdict(p, b, f.check.fps.get(p.seq) ?? null)),
    f.check.inRange !== null && f.since >= b.floor && f.since <= b.head ? gapVerdict(f.since, b.head, f.check.inRange) : 'ok',
    f.cursor ? pendingVerdict(f.cursor.digest, f.check.pendingDigest, f.cursor.headSeq, b.floor) : 'ok',
  ]);
  if (verdict !== 'ok') return { kind: 'resync', reason: verdict, logged: verdict === 'history-changed' };
  if (f.since < b.floor) return { kind: 'resync', reason: 'retention', logged: false };
  if (f.since > f.bounds.head) return { kind: 'resync', reason: 'history-changed', logged: false };
  // The feed sent changes the outbox still does not show (their stamp was lost with a
  // crashed Postgres, and no leader has stamped them again yet): a replay ending here
  // would leave a gap before what the seam holds.
  if (f.bounds.head < f.joinedAt) return { kind: 'resync', reason: 'unavailable', logged: false };
  return { kind: 'read', floor: b.floor };
}
