import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePluginImages } from './plugins';

/**
 * Before any test: the plugin images exist on the container engine, and the run has a ledger of
 * the API's answers (contract-setup.ts writes it, global-teardown.ts reads it).
 */
export default function globalSetup(): void {
  ensurePluginImages();
  process.env.KAT_CONTRACT_LEDGER = mkdtempSync(join(tmpdir(), 'kat-contract-'));
}
