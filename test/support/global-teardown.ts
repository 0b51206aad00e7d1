import type { Config } from '@jest/types';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * After a whole run of `npm test` (no file or name filter): every operation of the OpenAPI
 * document was seen answering, in some test file, at least one success (2xx) and one client error
 * (4xx), each checked against the document by contract-setup.ts. A route nobody calls is a route
 * whose contract nobody checks.
 */
export default function globalTeardown(globalConfig: Config.GlobalConfig): void {
  const ledger = process.env.KAT_CONTRACT_LEDGER;
  if (!ledger) return;
  try {
    const filtered =
      globalConfig.testPathPatterns.isSet() ||
      Boolean(globalConfig.testNamePattern) ||
      globalConfig.onlyChanged ||
      globalConfig.findRelatedTests ||
      Boolean(globalConfig.shard);
    const read = (file: string) =>
      existsSync(join(ledger, file)) ? readFileSync(join(ledger, file), 'utf8').split('\n').filter(Boolean) : [];
    const routes = new Set(read('routes.txt'));
    if (filtered || routes.size === 0) return;
    const answers = read('answers.txt');
    const unseen = [...routes].flatMap((route) => {
      const statuses = answers.filter((a) => a.startsWith(`${route} `)).map((a) => a.slice(route.length + 1));
      return [
        ...(statuses.some((s) => s.startsWith('2')) ? [] : [`${route}: no test saw it succeed`]),
        ...(statuses.some((s) => s.startsWith('4')) ? [] : [`${route}: no test saw it answer a 4xx`]),
      ];
    });
    if (unseen.length > 0) {
      throw new Error(`The OpenAPI contract was not checked on every operation:\n${unseen.join('\n')}`);
    }
  } finally {
    rmSync(ledger, { recursive: true, force: true });
  }
}
