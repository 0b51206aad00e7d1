import { ensurePluginImages } from './plugins';

/** Before any test: the plugin images exist on the container engine. */
export default function globalSetup(): void {
  ensurePluginImages();
}
