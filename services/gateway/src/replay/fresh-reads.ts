// One statement for many resumes. A reconnect storm resumes thousands of subscriptions
// within a second, each needing the outbox's bounds and the fingerprints at its
// positions: asked one by one, they queue on the replay pool and each pays a round trip.
// Here every caller gets the answer of a read that *began after it asked* (what it would
// have got reading on its own, so no history check is weakened), and the callers that
// ask while `concurrency` reads run share the next one.

interface Batch<K, R> {
  keys: K[];
  result: Promise<R>;
  begin: () => void;
}

export class FreshReads<K, R> {
  private running = 0;
  private queued: Batch<K, R> | null = null;
  private batches = 0;
  private asked = 0;

  /** `read`: one statement for the keys of every caller of a batch (repeats included). */
  constructor(
    private readonly read: (keys: K[]) => Promise<R>,
    private readonly concurrency = 1,
  ) {}

  /** Reads begun, and callers answered or waiting: their ratio is what sharing saved. */
  get stats(): { batches: number; asked: number } {
    return { batches: this.batches, asked: this.asked };
  }

  ask(keys: readonly K[] = []): Promise<R> {
    this.asked++;
    const batch = this.queued ?? this.enqueue();
    for (const k of keys) batch.keys.push(k);
    return batch.result;
  }

  private enqueue(): Batch<K, R> {
    let begin!: () => void;
    const started = new Promise<void>((resolve) => (begin = resolve));
    const batch: Batch<K, R> = {
      keys: [],
      begin,
      // Begins on a later microtask at the earliest: whoever asks until then joins it,
      // and its statement begins after every one of them asked.
      result: started.then(() => {
        this.batches++;
        return this.read(batch.keys);
      }),
    };
    void batch.result
      .catch(() => undefined)
      .then(() => {
        this.running--;
        this.next();
      });
    this.queued = batch;
    queueMicrotask(() => this.next());
    return batch;
  }

  private next(): void {
    const batch = this.queued;
    if (!batch || this.running >= this.concurrency) return;
    this.queued = null;
    this.running++;
    batch.begin();
  }
}
