import { RunLog } from '../task-handler';

export const MASK = '********';
/** Shorter values are not masked: replacing every "on" or "1" would garble logs and hide little. */
export const MIN_MASKED_LENGTH = 4;

/**
 * Replaces an organization's setting values with `********` in what a plugin task stores about
 * its run: the captured stdout and stderr, data.error and data.traceback. A value is found as it
 * is and as JSON would escape it (errors quote stdout lines in JSON). A log cut at its cap can
 * also hold a fragment of a value at the cut (stdout keeps its head, stderr its tail): a fragment
 * of at least MIN_MASKED_LENGTH characters there is masked too.
 */
export class SecretMask {
  /** Longest first, so a value that contains another is masked whole. */
  private readonly forms: string[];
  private readonly values: string[];

  constructor(values: Iterable<string>) {
    this.values = [...new Set(values)].filter((v) => v.length >= MIN_MASKED_LENGTH);
    const forms = this.values.flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]);
    this.forms = [...new Set(forms)].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.values.length === 0;
  }

  text(text: string): string {
    let masked = text;
    for (const form of this.forms) masked = masked.replaceAll(form, MASK);
    return masked;
  }

  /** A stream's kept head: when it was cut, a value's start at its end goes too. */
  head(text: string, truncated: boolean): string {
    return truncated ? this.cutEnd(this.text(text)) : this.text(text);
  }

  /** A stream's kept tail: when it was cut, a value's end at its start goes too. */
  tail(text: string, truncated: boolean): string {
    return truncated ? this.cutStart(this.text(text)) : this.text(text);
  }

  /**
   * A raw output file, as bytes: each value (as its UTF-8 bytes, and JSON-escaped) replaced, and a
   * value's start at the end of a file cut at its cap. The file's other bytes stay as printed.
   */
  bytes(content: Buffer, truncated: boolean): Buffer {
    if (this.empty) return content;
    let masked = content;
    for (const form of this.forms) masked = replaceAll(masked, Buffer.from(form), Buffer.from(MASK));
    if (!truncated) return masked;
    for (const value of this.values)
      for (let n = value.length - 1; n >= MIN_MASKED_LENGTH; n--) {
        const start = Buffer.from(value.slice(0, n));
        if (masked.subarray(masked.length - start.length).equals(start))
          return Buffer.concat([masked.subarray(0, masked.length - start.length), Buffer.from(MASK)]);
      }
    return masked;
  }

  /** A run's log: stdout keeps its head, stderr its tail. */
  log(log: RunLog): RunLog {
    if (this.empty) return log;
    return {
      ...log,
      stdout: this.head(log.stdout, log.stdout_truncated),
      stderr: this.tail(log.stderr, log.stderr_truncated),
    };
  }

  /** The kept head of a stream ends with the start of a value. */
  private cutEnd(text: string): string {
    for (const value of this.values)
      for (let n = value.length - 1; n >= MIN_MASKED_LENGTH; n--)
        if (text.endsWith(value.slice(0, n))) return text.slice(0, text.length - n) + MASK;
    return text;
  }

  /** The kept tail of a stream starts with the end of a value. */
  private cutStart(text: string): string {
    for (const value of this.values)
      for (let n = value.length - 1; n >= MIN_MASKED_LENGTH; n--)
        if (text.startsWith(value.slice(value.length - n))) return MASK + text.slice(n);
    return text;
  }
}

function replaceAll(content: Buffer, find: Buffer, replacement: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = content.indexOf(find); at !== -1; at = content.indexOf(find, from)) {
    parts.push(content.subarray(from, at), replacement);
    from = at + find.length;
  }
  return parts.length === 0 ? content : Buffer.concat([...parts, content.subarray(from)]);
}
