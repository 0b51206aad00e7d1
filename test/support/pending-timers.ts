import { createHook } from 'node:async_hooks';

/**
 * How many referenced timers set while `run` ran, with a stack (async frames included) that `counts`,
 * are still pending once it settled: each would keep a process that ends without process.exit (a
 * test run) alive until it fires. Only the code under test's timers count: Jest's reporter, for
 * one, sets one after a logged line.
 */
export async function pendingTimers(counts: (stack: string) => boolean, run: () => Promise<unknown>): Promise<number> {
  const pending = new Map<number, NodeJS.Timeout>();
  const hook = createHook({
    init: (id, type, _trigger, resource) => {
      if (type !== 'Timeout') return;
      const depth = Error.stackTraceLimit;
      Error.stackTraceLimit = 30;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = depth;
      if (counts(stack)) pending.set(id, resource as NodeJS.Timeout);
    },
    destroy: (id) => void pending.delete(id),
  }).enable();
  try {
    await run();
    // A cleared timer's destroy hook runs asynchronously: let it, so that only pending ones remain.
    await new Promise((resolve) => setImmediate(resolve));
    // Unreferenced timers hold nothing up.
    return [...pending.values()].filter((timer) => timer.hasRef()).length;
  } finally {
    hook.disable();
  }
}
