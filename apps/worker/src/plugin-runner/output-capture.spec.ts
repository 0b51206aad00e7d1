import { OutputCapture } from './output-capture';

function capture(keep: 'head' | 'tail', cap: number, chunks: string[]) {
  const output = new OutputCapture(cap, keep);
  for (const chunk of chunks) output.write(Buffer.from(chunk));
  return output.result();
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
