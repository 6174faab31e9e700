// Collects transaction pieces in commit order until they are stamped together in one
// statement, and knows how far the log may be acknowledged once they are: up to the
// commit end of the last whole transaction taken, never into one still streaming.
import type { Piece } from '../wal/transactions';

export interface Batch {
  pieces: Piece[];
  rows: number;
  /** Commit end LSN of the last complete transaction in the batch, if any. */
  ackTo: string | null;
}

export class BatchBuffer {
  private pieces: Piece[] = [];
  private rowCount = 0;

  get rows(): number {
    return this.rowCount;
  }

  get isEmpty(): boolean {
    return this.pieces.length === 0;
  }

  /** The pieces waiting, without taking them. */
  peek(): readonly Piece[] {
    return this.pieces;
  }

  push(piece: Piece): void {
    this.pieces.push(piece);
    this.rowCount += piece.ids.length;
  }

  take(): Batch {
    const pieces = this.pieces;
    const rows = this.rowCount;
    this.pieces = [];
    this.rowCount = 0;
    let ackTo: string | null = null;
    for (const p of pieces) if (p.commitEnd) ackTo = p.commitEnd;
    return { pieces, rows, ackTo };
  }

  clear(): void {
    this.pieces = [];
    this.rowCount = 0;
  }
}
