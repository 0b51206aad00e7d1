import { MASK, SecretMask } from './secret-mask';

describe('SecretMask', () => {
  const log = (stdout: string, stderr: string, truncated = false) => ({
    stdout,
    stderr,
    stdout_truncated: truncated,
    stderr_truncated: truncated,
  });

  it('masks every occurrence of each value of 4 characters or more, and leaves shorter ones', () => {
    const mask = new SecretMask(['s3cr3t-value', 'abc', 'on']);
    expect(mask.text('key=s3cr3t-value; again s3cr3t-value; abc on')).toBe(`key=${MASK}; again ${MASK}; abc on`);
    expect(new SecretMask(['abc']).empty).toBe(true);
  });

  it('masks a value that contains another whole, and its JSON-escaped form', () => {
    const mask = new SecretMask(['token', 'token-"quoted"\\x']);
    expect(mask.text('a token-"quoted"\\x b token')).toBe(`a ${MASK} b ${MASK}`);
    expect(mask.text(JSON.stringify('line token-"quoted"\\x'))).toBe(`"line ${MASK}"`);
  });

  it("masks a value's fragment at the cut of a truncated stream, and only there", () => {
    const mask = new SecretMask(['0123456789abcdef']);
    const cut = mask.log(log('head 0123456789', 'cdef tail', true));
    expect(cut).toMatchObject({ stdout: `head ${MASK}`, stderr: `${MASK} tail` });
    // Not cut: a fragment is just text.
    expect(mask.log(log('head 0123456789', 'cdef tail'))).toMatchObject({
      stdout: 'head 0123456789',
      stderr: 'cdef tail',
    });
    // Fragments shorter than 4 characters stay.
    expect(mask.log(log('head 012', 'def tail', true))).toMatchObject({ stdout: 'head 012', stderr: 'def tail' });
    expect(mask.tail('89abcdef\nerror', true)).toBe(`${MASK}\nerror`);
    expect(mask.head('x 0123456789abcdef y 01234', true)).toBe(`x ${MASK} y ${MASK}`);
  });

  it("masks values in a binary file and leaves every other byte as printed; a cut file loses a value's start", () => {
    const mask = new SecretMask(['s3cr3t-value']);
    const file = Buffer.concat([Buffer.from([0, 255]), Buffer.from('k=s3cr3t-value\n'), Buffer.from([1, 2, 3])]);
    expect(mask.bytes(file, false)).toEqual(
      Buffer.concat([Buffer.from([0, 255]), Buffer.from(`k=${MASK}\n`), Buffer.from([1, 2, 3])]),
    );
    expect(mask.bytes(Buffer.from('end: s3cr3t-v'), true).toString()).toBe(`end: ${MASK}`);
    expect(mask.bytes(Buffer.from('end: s3cr3t-v'), false).toString()).toBe('end: s3cr3t-v');
  });
});
