/**
 * The tests Stryker runs against each mutant (stryker.config.mjs): the unit specs of libs/domain and
 * the one end-to-end spec that checks a mutated module, task-state.ts, against PostgreSQL's trigger.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/libs/domain/src', '<rootDir>/test'],
  testRegex: ['libs/domain/src/.*\\.spec\\.ts$', 'test/task-state\\.e2e-spec\\.ts$'],
  globalSetup: undefined, // builds plugin images, which none of these tests run
};
