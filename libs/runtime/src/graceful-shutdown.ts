import { INestApplicationContext, Logger } from '@nestjs/common';

/**
 * On SIGTERM or SIGINT, closes the app (running its shutdown hooks: a worker hands back or
 * finishes its tasks) and exits 0, so an orchestrator sees a clean stop. A second signal exits at once.
 */
export function closeOnSignals(app: INestApplicationContext, name: string): void {
  const logger = new Logger(name);
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) process.exit(1);
      closing = true;
      logger.log(`${signal}: shutting down`);
      app.close().then(
        () => process.exit(0),
        (error: Error) => {
          logger.error(`Shutdown failed: ${error.message}`);
          process.exit(1);
        },
      );
    });
  }
}
