import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { closeOnSignals, loadSettings, logLevels } from '@kat/domain';
import { ApiModule } from './api.module';
import { configureApp } from './configure-app';

async function main(): Promise<void> {
  const settings = loadSettings();
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(settings), { logger: logLevels(settings) });
  configureApp(app);
  closeOnSignals(app, 'api');
  await app.listen(settings.PORT, '0.0.0.0');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
