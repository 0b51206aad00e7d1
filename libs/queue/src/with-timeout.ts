/**
 * The promise's outcome, or an Error(`message`) after `ms`. The timer is cleared as soon as either
 * comes: a timer left behind by every call (a health probe every few seconds) would keep a process
 * that ends without process.exit (a test run) alive until it fires.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
