import { Writable } from 'node:stream';
import { CapturedOutput } from './plugin-runner';

/** Collects a stream up to `cap` bytes, keeping either its first or its last bytes. */
export class OutputCapture extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  private seen = 0;
  private dropped = false;

  constructor(
    private readonly cap: number,
    private readonly keep: 'head' | 'tail',
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.seen += chunk.length;
    if (this.keep === 'head') {
      const room = this.cap - this.size;
      if (room > 0) this.push_(chunk.subarray(0, room));
      if (chunk.length > room) this.dropped = true;
    } else {
      this.push_(chunk);
      while (this.size - this.chunks[0].length >= this.cap) {
        this.size -= this.chunks.shift()!.length;
        this.dropped = true;
      }
    }
    done();
  }

  private push_(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
  }

  /** Every byte written, kept or not. */
  get bytes(): number {
    return this.seen;
  }

  result(): CapturedOutput {
    let buffer = Buffer.concat(this.chunks);
    let truncated = this.dropped;
    if (buffer.length > this.cap) {
      buffer = buffer.subarray(buffer.length - this.cap);
      truncated = true;
    }
    // toString replaces a multi-byte character cut at the edge, so the text stays valid UTF-8;
    // NUL bytes go, as PostgreSQL's text cannot hold them.
    return { text: buffer.toString('utf8').replaceAll('\u0000', ''), truncated, content: buffer, bytes: this.seen };
  }
}

/**
 * Splits a byte stream into lines (UTF-8) and hands each to `onLine`; `end()` flushes the last
 * one. A line longer than `maxLine` characters is handed over cut at that length (it cannot be a
 * valid object, so ingest fails on it) and the rest of it is dropped: a plugin printing one endless
 * line cannot exhaust the worker's memory.
 */
export class LineSplitter extends Writable {
  private rest = '';
  private skipping = false;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 1024 * 1024,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    const lines = (this.rest + this.decoder.decode(chunk, { stream: true })).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (this.skipping) this.skipping = false;
      else this.onLine(line);
    }
    if (this.rest.length > this.maxLine) {
      if (!this.skipping) this.onLine(this.rest.slice(0, this.maxLine));
      this.skipping = true;
      this.rest = '';
    }
    done();
  }

  override _final(done: () => void): void {
    const last = this.rest + this.decoder.decode();
    if (last !== '' && !this.skipping) this.onLine(last);
    done();
  }
}

/** Writes every chunk to each of `targets`. */
export class Tee extends Writable {
  constructor(private readonly targets: Writable[]) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const target of this.targets) target.write(chunk);
    done();
  }

  override _final(done: () => void): void {
    for (const target of this.targets) target.end();
    done();
  }
}

/**
 * Passes stdout on to its target until closed; after that holds it back, to be released (it is the
 * only copy there is) or dropped (another source gave the target the same bytes).
 */
export class Valve extends Writable {
  private passed = 0;
  private heldBack: Buffer[] | null = null;

  constructor(readonly target: Writable) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    if (this.heldBack) this.heldBack.push(chunk);
    else {
      this.passed += chunk.length;
      this.target.write(chunk);
    }
    done();
  }

  /** Holds back from now on; the bytes passed until now. */
  close(): number {
    this.heldBack ??= [];
    return this.passed;
  }

  /** Passes on what was held back, but its first `skip` bytes (the target had them from elsewhere). */
  release(skip = 0): void {
    const rest = new SkipHead(skip, this.target);
    for (const chunk of this.heldBack ?? []) rest.write(chunk);
    this.heldBack = [];
  }
}

/** Drops a stream's first `skip` bytes and passes the rest on to `target`, counting them. */
export class SkipHead extends Writable {
  passed = 0;

  constructor(
    private skip: number,
    private readonly target: Writable | null,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    if (this.skip >= chunk.length) this.skip -= chunk.length;
    else {
      this.target?.write(chunk.subarray(this.skip));
      this.passed += chunk.length - this.skip;
      this.skip = 0;
    }
    done();
  }
}
