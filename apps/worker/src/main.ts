import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { closeOnSignals, loadSettings, logLevels } from '@kat/domain';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const settings = loadSettings();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(settings), {
    logger: logLevels(settings),
  });
  closeOnSignals(app, 'worker');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
