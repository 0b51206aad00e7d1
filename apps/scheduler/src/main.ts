import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { closeOnSignals, loadSettings, logLevels } from '@kat/domain';
import { SchedulerModule } from './scheduler.module';

async function main(): Promise<void> {
  const settings = loadSettings();
  const app = await NestFactory.createApplicationContext(SchedulerModule.forRoot(settings), {
    logger: logLevels(settings),
  });
  closeOnSignals(app, 'scheduler');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
