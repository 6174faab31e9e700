// Where the write queue keeps its entries between page loads. The queue saves the whole
// list after every change (a handful of entries, rarely more), so a store is two calls:
// a browser app backs it with IndexedDB (one key per user), a test with memory.
import type { WriteEntry } from './entry.js';

export interface QueueStorage {
  /** The entries the last save stored, in queue order; [] when there are none. */
  load(): Promise<WriteEntry[]>;
  /**
   * Replaces what is stored. The queue never calls it twice at once: each call waits for
   * the one before, so a store may write without locking. Entries are plain JSON values.
   */
  save(entries: WriteEntry[]): Promise<void>;
}

export interface MemoryStorage extends QueueStorage {
  /** What the last save stored, as a copy: what a reload would load. */
  readonly saved: WriteEntry[];
  /** How many saves finished. */
  readonly saves: number;
}

/**
 * A store in memory: for tests, and for a queue that need not survive a reload. Entries
 * are copied through JSON both ways, as a real store would, so nothing the queue holds is
 * shared with what was saved.
 */
export function memoryStorage(initial: WriteEntry[] = []): MemoryStorage {
  let stored = JSON.stringify(initial);
  let saves = 0;
  return {
    load: async () => JSON.parse(stored) as WriteEntry[],
    save: async (entries) => {
      stored = JSON.stringify(entries);
      saves++;
    },
    get saved() {
      return JSON.parse(stored) as WriteEntry[];
    },
    get saves() {
      return saves;
    },
  };
}

/**
 * The queue's saves, one at a time, each of the newest state when it starts, so the store
 * ends with the last state whatever the store's own timing; states in between may never
 * be written.
 */
export class Saves {
  /** How many changes the store holds. */
  private saved = 0;
  private saving: Promise<void> | null = null;
  /** False after a failed load: what the store holds is left for the next load. */
  usable = true;

  constructor(
    private readonly storage: QueueStorage,
    /** The change count and entries of the queue now. */
    private readonly current: () => { changes: number; entries: readonly WriteEntry[] },
    private readonly failed: (error: unknown) => void,
  ) {}

  /** Resolves once the store holds change `target` or a later one. */
  async through(target: number): Promise<void> {
    while (this.saved < target && this.usable) {
      if (!this.saving) {
        const { changes, entries } = this.current();
        const snapshot = [...entries];
        this.saving = Promise.resolve()
          .then(() => this.storage.save(snapshot))
          .catch((error: unknown) => this.failed(error))
          .finally(() => {
            this.saved = Math.max(this.saved, changes);
            this.saving = null;
          });
      }
      await this.saving;
    }
  }
}
