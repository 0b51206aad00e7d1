/** Fault tests (`npm run test:faults`): the real apps as processes, with faults injected while tasks flow. */
const base = require('./jest.config');

// The apps run as processes there: no in-process API whose answers the contract could check.
module.exports = {
  ...base,
  testRegex: '.*\\.fault-spec\\.ts$',
  roots: ['<rootDir>/test/faults'],
  testTimeout: 300000,
  globalTeardown: undefined,
  setupFilesAfterEnv: [],
};
