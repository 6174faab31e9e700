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
