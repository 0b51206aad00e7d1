// StrykerJS over the domain's pure TypeScript logic (`npm run test:mutation`; see README, "Mutation testing").
// The SQL of the repositories is text to Stryker: scripts/mutation/sql-mutants.js mutates that.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  // Unit specs of libs/domain plus test/task-state.e2e-spec.ts (task-state.ts against PostgreSQL's trigger).
  jest: { projectType: 'custom', configFile: 'jest.stryker.config.js', enableFindRelatedTests: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  coverageAnalysis: 'perTest',
  // Modules with logic a unit test can reach. Left out: entities, migrations, SQL-only repositories
  // and rules (sql-mutants.js), Nest wiring (modules, logging, shutdown), seed data and finding types,
  // and the two with logic but only end-to-end tests: auth/plugin-token.service.ts and
  // objects/object-types.ts (validateObjects), which need the API and containers per mutant.
  // Globs by file name, so that a move between folders (task/ → tasks/) does not silently drop one.
  mutate: [
    'libs/domain/src/**/task-state.ts',
    'libs/domain/src/**/micro-batcher.ts',
    'libs/domain/src/**/object-filter.ts',
    'libs/domain/src/**/duration.ts',
    'libs/domain/src/**/object-keys.ts',
    'libs/domain/src/**/settings.ts',
    'libs/domain/src/**/settings-cipher.ts',
  ],
  // The sandbox (a copy of the tree, where mutants are written) lives outside the work tree.
  tempDirName: join(tmpdir(), 'kat-stryker'),
  ignorePatterns: ['/dist', '/test-output', '/reports', '/coverage', '/bench/results', '/k8s', '/docs'], // anchored: libs/domain/src/reports is code
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/stryker.html' },
  jsonReporter: { fileName: 'reports/mutation/stryker.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 90, low: 75, break: null },
  timeoutMS: 10000, // beyond the dry run's time per test; a mutant that loops forever (micro-batcher) counts as killed
  incremental: false,
  cleanTempDir: 'always',
};
