// What a stamped change is, between the replicator that stamps it and the gateways that
// stream it: the row type handed on in-process, and the channel of the one wake-up per
// stamped batch that gateways in other processes LISTEN on.
import type { ChangeOp } from '@realtime/protocol';

/** Channel of the one wake-up per stamped batch, for gateways in other processes. */
export const STAMPED_CHANNEL = 'realtime_stamped';

export interface StampedChange {
  id: number;
  seq: number;
  table: string;
  op: ChangeOp;
  rowId: string;
  newRow: Record<string, unknown> | null;
  oldRow: Record<string, unknown> | null;
  txid: string;
  actor: string | null;
  committedAt: string;
  /** The captured size of its row images, in bytes. */
  rowBytes: number;
  /** The fingerprint of its position (`fingerprint` in head.ts): id, txid, commit time. */
  fp: string;
}
