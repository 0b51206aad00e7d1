/**
 * Coalesces single calls into batches: what is submitted while `maxInFlight` batches are running
 * goes out together as the next batch (up to `maxBatch`). At low load every call runs alone at once;
 * under load one statement and one commit serve many calls, which is where a worker's time went
 * (a round trip and a durable commit per task). Each caller gets its own result; when a batch
 * fails, its items are run again one by one, so each caller gets its own error.
 */
export class MicroBatcher<I, O> {
  private waiting: Array<{ item: I; resolve: (value: O) => void; reject: (error: unknown) => void }> = [];
  private inFlight = 0;
  private flushScheduled = false;

  constructor(
    /** Runs one batch; returns one result per item, in the items' order. */
    private readonly runBatch: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; maxInFlight: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      // Deferred to the end of this turn of the event loop, so calls made together go together.
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  private runAlone(entry: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }): Promise<void> {
    return this.runBatch([entry.item]).then(([result]) => entry.resolve(result), entry.reject);
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.runBatch(batch.map((entry) => entry.item))
        .then(
          (results) => {
            batch.forEach((entry, i) => entry.resolve(results[i]));
          },
          // One bad item (or a deadlock victim) must not fail the others: each is tried alone.
          async (error: unknown) => {
            if (batch.length === 1) batch[0].reject(error);
            else await Promise.all(batch.map((entry) => this.runAlone(entry)));
          },
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
