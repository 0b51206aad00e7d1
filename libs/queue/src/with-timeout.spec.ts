import { withTimeout } from './with-timeout';

describe('withTimeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers with the promise and leaves no timer behind', async () => {
    await expect(withTimeout(Promise.resolve('pong'), 1500, 'timed out')).resolves.toBe('pong');
    expect(jest.getTimerCount()).toBe(0);
  });

  it("passes the promise's own failure on and leaves no timer behind", async () => {
    await expect(withTimeout(Promise.reject(new Error('refused')), 1500, 'timed out')).rejects.toThrow('refused');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('fails with the message once the time is up', async () => {
    const answer = withTimeout(new Promise(() => undefined), 1500, 'ping timed out');
    jest.advanceTimersByTime(1500);
    await expect(answer).rejects.toThrow('ping timed out');
  });
});
