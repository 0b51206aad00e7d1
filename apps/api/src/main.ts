import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadSettings } from '@kat/domain';
import { closeOnSignals } from '@kat/runtime';
import { Logger } from 'nestjs-pino';
import { ApiModule } from './api.module';
import { configureApp } from './configure-app';

async function main(): Promise<void> {
  const settings = loadSettings();
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(settings), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  configureApp(app);
  closeOnSignals(app, 'api');
  await app.listen(settings.PORT, '0.0.0.0');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
