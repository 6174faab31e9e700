// Turns pgoutput messages into pieces of committed transactions, in commit order. A
// transaction larger than one piece is handed on in pieces as it streams, so that a
// million-row transaction never sits in memory whole; only its last piece carries the
// commit end LSN, the one position that may be acknowledged.

export interface Piece {
  xid: number;
  ids: number[];
  /** The outbox rows as the publication sent them, one per id (only `id` with an older publication). */
  rows: Record<string, unknown>[];
  /** The whole transaction in this one piece: it began and committed within it. */
  whole: boolean;
  /** Commit time, microseconds since the Unix epoch (known from BEGIN). */
  commitTime: bigint;
  /** Set on the transaction's last piece only. */
  commitEnd: string | null;
}

/** The subset of pg-logical-replication's pgoutput messages this needs. */
export type OutboxMessage =
  | { tag: 'begin'; xid: number; commitTime: bigint | BigInt; commitLsn: string | null }
  | { tag: 'insert'; relation: { schema: string; name: string }; new: Record<string, unknown> }
  | { tag: 'commit'; commitEndLsn: string | null; commitTime: bigint | BigInt }
  | { tag: string; [k: string]: unknown };

export class TransactionAssembler {
  private open: { xid: number; commitTime: bigint; ids: number[]; rows: Record<string, unknown>[]; split: boolean } | null = null;

  constructor(
    private readonly pieceSize: number,
    private readonly table = { schema: 'public', name: 'change_outbox' },
  ) {
    if (!Number.isInteger(pieceSize) || pieceSize < 1) throw new Error(`pieceSize must be a positive integer, got ${pieceSize}`);
  }

  /** True between BEGIN and COMMIT: acknowledging a keepalive now could skip this transaction. */
  get inTransaction(): boolean {
    return this.open !== null;
  }

  push(msg: OutboxMessage): Piece[] {
    switch (msg.tag) {
      case 'begin': {
        if (this.open) throw new Error(`BEGIN of xid ${String(msg.xid)} inside open xid ${this.open.xid}: the stream is out of step`);
        const m = msg as Extract<OutboxMessage, { tag: 'begin' }>;
        this.open = { xid: m.xid, commitTime: BigInt(m.commitTime as bigint), ids: [], rows: [], split: false };
        return [];
      }
      case 'insert': {
        const m = msg as Extract<OutboxMessage, { tag: 'insert' }>;
        if (m.relation.name !== this.table.name || m.relation.schema !== this.table.schema) return [];
        if (!this.open) throw new Error('INSERT outside a transaction: the stream is out of step');
        const id = Number(m.new.id);
        if (!Number.isSafeInteger(id)) throw new Error(`outbox insert without a usable id: ${String(m.new.id)}`);
        this.open.ids.push(id);
        this.open.rows.push(m.new);
        if (this.open.ids.length < this.pieceSize) return [];
        const piece: Piece = { xid: this.open.xid, ids: this.open.ids, rows: this.open.rows, whole: false, commitTime: this.open.commitTime, commitEnd: null };
        this.open.ids = [];
        this.open.rows = [];
        this.open.split = true;
        return [piece];
      }
      case 'commit': {
        if (!this.open) throw new Error('COMMIT without BEGIN: the stream is out of step');
        const m = msg as Extract<OutboxMessage, { tag: 'commit' }>;
        const piece: Piece = {
          xid: this.open.xid,
          ids: this.open.ids,
          rows: this.open.rows,
          whole: !this.open.split,
          commitTime: this.open.commitTime,
          commitEnd: m.commitEndLsn,
        };
        this.open = null;
        return [piece];
      }
      default:
        return [];
    }
  }

  reset(): void {
    this.open = null;
  }
}
