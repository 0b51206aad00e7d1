import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { closeOnSignals, loadSettings } from '@kat/domain';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const settings = loadSettings();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(settings), {
    logger: ['fatal', 'error', 'warn', 'log'],
  });
  closeOnSignals(app, 'worker');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
