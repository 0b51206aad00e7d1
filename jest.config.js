/** Unit tests beside the code (*.spec.ts); tests against real services in test/ (*.e2e-spec.ts). */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleNameMapper: {
    '^@kat/domain(|/.*)$': '<rootDir>/libs/domain/src$1',
    '^@kat/queue(|/.*)$': '<rootDir>/libs/queue/src$1',
  },
  testEnvironment: 'node',
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};
