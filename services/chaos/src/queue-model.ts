// What a queue client is given and what it records: its spec and pace, its counters,
// the write it tracks, and what a queue's state means for the checker. Pure.
import type { WriteEntry } from '@realtime/client';
import type { QueueOutcome, WriteKind } from './queue-check';
import type { Rng } from './rng';

/** A uuid (v4 layout) from the seeded generator: the same seed gives the same keys and row ids. */
export function uuidFrom(r: Rng): string {
  const h = Array.from({ length: 4 }, () => Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0')).join('');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** One write as the client made it, and what its queue has said of it since. */
export interface Tracked {
  id: string;
  kind: WriteKind;
  rowId: string;
  marker: string | null;
  state: WriteEntry['state'] | 'dropped';
  status?: number;
  txid?: string;
}

export interface QueueStats {
  retries: number;
  conflicts: number;
  keptMine: number;
  tookTheirs: number;
  rebased: number;
  disconnects: number;
  restarts: number;
  /** 401s: the queue paused until a sign-in (a session never ends within a run, so none are expected). */
  unauthorized: number;
  confirmed: Record<'response' | 'stream' | 'refetch' | 'expired', number>;
}

/** How often a client writes, goes offline (and for how long), reloads and reads its list: [min, max] ms. */
export interface QueueWriterPace {
  tickMs: readonly [number, number];
  onlineMs: readonly [number, number];
  offlineMs: readonly [number, number];
  reloadEveryMs: readonly [number, number];
  readEveryMs: readonly [number, number];
}

export const defaultPace: QueueWriterPace = { tickMs: [100, 450], onlineMs: [3000, 12000], offlineMs: [500, 4000], reloadEveryMs: [6000, 15000], readEveryMs: [1000, 3000] };

export interface QueueWriterSpec {
  index: number;
  email: string;
  password: string;
  /** Base URLs of the gateways, which serve the API. */
  gateways: readonly string[];
  pinned: readonly string[];
}

/** The outcome a queue's state means for the checker. */
export function outcomeOf(state: Tracked['state']): QueueOutcome {
  switch (state) {
    case 'sent':
    case 'confirmed':
      return 'succeeded';
    case 'failed':
      return 'refused';
    case 'dropped':
      return 'dropped';
    default:
      return 'pending';
  }
}
