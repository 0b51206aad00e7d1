import { LineSplitter, OutputCapture, Valve } from './output-capture';

function capture(keep: 'head' | 'tail', cap: number, chunks: string[]) {
  const output = new OutputCapture(cap, keep);
  for (const chunk of chunks) output.write(Buffer.from(chunk));
  const { text, truncated, content, bytes } = output.result();
  // The kept bytes are the text's own (NUL aside), and every byte printed is counted.
  expect(content.toString('utf8').replaceAll('\u0000', '')).toBe(text);
  expect(bytes).toBe(chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk), 0));
  return { text, truncated };
}

describe('OutputCapture', () => {
  it('keeps everything under the cap', () => {
    expect(capture('head', 100, ['a\n', 'b\n'])).toEqual({ text: 'a\nb\n', truncated: false });
  });

  it('keeps the head of stdout and flags the cut', () => {
    expect(capture('head', 5, ['abc', 'defgh', 'ij'])).toEqual({ text: 'abcde', truncated: true });
  });

  it('keeps the tail of stderr, where the error is', () => {
    expect(capture('tail', 5, ['abc', 'defgh', 'ij'])).toEqual({ text: 'ghij'.padStart(5, 'f'), truncated: true });
  });

  it('drops NUL bytes, which PostgreSQL text cannot hold', () => {
    expect(capture('head', 100, ['a\u0000b'])).toEqual({ text: 'ab', truncated: false });
  });
});

describe('LineSplitter', () => {
  async function split(chunks: string[], maxLine?: number): Promise<string[]> {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), maxLine);
    for (const chunk of chunks) splitter.write(Buffer.from(chunk));
    await new Promise<void>((resolve) => splitter.end(resolve));
    return lines;
  }

  it('hands over lines across chunks, and the last one without a newline', async () => {
    expect(await split(['{"a":', '1}\n{"b"', ':2}\nlast'])).toEqual(['{"a":1}', '{"b":2}', 'last']);
  });

  it('cuts an endless line at the limit and drops the rest of it', async () => {
    expect(await split(['x'.repeat(6), 'x'.repeat(6), 'xx\nnext\n'], 8)).toEqual(['x'.repeat(8), 'next']);
  });
});

describe('Valve', () => {
  it('passes bytes on until closed, then holds them back to release or drop', () => {
    const passed: string[] = [];
    const target = new LineSplitter((line) => passed.push(line));
    const valve = new Valve(target);
    valve.write(Buffer.from('a\nb\n'));
    expect(valve.close()).toBe(4);
    valve.write(Buffer.from('c\n'));
    expect(passed).toEqual(['a', 'b']);
    valve.release();
    expect(passed).toEqual(['a', 'b', 'c']);
    valve.write(Buffer.from('d\n'));
    expect(passed).toEqual(['a', 'b', 'c']); // still closed: held again
  });
});

describe('Valve.release', () => {
  it('skips the bytes the target had from elsewhere, across chunks', () => {
    const passed: string[] = [];
    const valve = new Valve(new LineSplitter((line) => passed.push(line)));
    valve.write(Buffer.from('a\n'));
    valve.close();
    for (const chunk of ['b\nc', '\nd\n']) valve.write(Buffer.from(chunk));
    valve.target.write(Buffer.from('b\n')); // from the log, before it broke off
    valve.release(2);
    expect(passed).toEqual(['a', 'b', 'c', 'd']);
  });
});
