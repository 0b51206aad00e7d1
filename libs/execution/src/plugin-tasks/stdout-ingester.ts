import { ObjectRepository, Producer, ValidObject, validateObjects } from '@kat/domain';

const BATCH_SIZE = 500;

/**
 * Turns a plugin's stdout, one JSON object per line (`{"object_type": "hostname", ...}`), into
 * stored objects and ObjectTask records, through the same validation and upsert as the API.
 * The first bad line stops the ingest (the objects before it are kept) and calls `onBadLine`.
 */
export class StdoutIngester {
  private lineNumber = 0;
  private pending: ValidObject[] = [];
  private writes: Promise<unknown> = Promise.resolve();
  private stored = 0;
  private writeError: Error | null = null;
  error: string | null = null;

  constructor(
    private readonly objects: ObjectRepository,
    private readonly organizationId: number,
    private readonly producer: Producer,
    private readonly onBadLine: (error: string) => void,
  ) {}

  readonly line = (text: string): void => {
    this.lineNumber++;
    if (this.error !== null || text.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.fail(`stdout line ${this.lineNumber} is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
    }
    const result = validateObjects(null, [parsed], false);
    if ('errors' in result)
      return this.fail(`stdout line ${this.lineNumber} is not a valid object: ${result.errors.join('; ')}`);
    this.pending.push(...result.objects);
    if (this.pending.length >= BATCH_SIZE) this.flush();
  };

  /** Stores what is left; resolves to the number of objects stored, or throws a database error. */
  async finish(): Promise<number> {
    this.flush();
    await this.writes;
    if (this.writeError) throw this.writeError;
    return this.stored;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writes = this.writes
      .then(async () => {
        if (this.writeError) return;
        await this.objects.upsert(this.organizationId, batch, this.producer);
        this.stored += batch.length;
      })
      .catch((error: Error) => {
        this.writeError ??= error; // kept for finish(); an unhandled rejection would end the process
      });
  }

  private fail(error: string): void {
    this.error = error;
    this.onBadLine(error);
  }
}
