import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadSettings } from '@kat/domain';
import { closeOnSignals } from '@kat/runtime';
import { Logger } from 'nestjs-pino';
import { SchedulerModule } from './scheduler.module';

async function main(): Promise<void> {
  const settings = loadSettings();
  const app = await NestFactory.createApplicationContext(SchedulerModule.forRoot(settings), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  closeOnSignals(app, 'scheduler');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
