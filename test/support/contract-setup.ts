import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractSeen } from './openapi-contract';

/**
 * After each test file: none of its API's responses broke the OpenAPI document, and the routes and
 * statuses it saw join the run's ledger (global-teardown.ts checks that every operation was seen
 * answering a success and an error).
 */
afterAll(() => {
  const ledger = process.env.KAT_CONTRACT_LEDGER;
  if (ledger && contractSeen.routes.size > 0) {
    appendFileSync(join(ledger, 'routes.txt'), [...contractSeen.routes, ''].join('\n'));
    appendFileSync(join(ledger, 'answers.txt'), [...contractSeen.answers, ''].join('\n'));
  }
  expect([...contractSeen.problems]).toEqual([]);
});
