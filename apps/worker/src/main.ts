import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadSettings } from '@kat/domain';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const settings = loadSettings();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(settings), {
    logger: ['fatal', 'error', 'warn', 'log'],
  });
  // SIGTERM: stop taking jobs, finish or hand back running plugins, then close connections.
  app.enableShutdownHooks();
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
