import { DynamicModule, Module } from '@nestjs/common';
import { KatSettings } from '@kat/domain';
import { loggingModule } from './logging';
import { MetricsModule } from './metrics';
import { TokenRevocations } from './token-revocations';

/**
 * What every process has whatever it does: JSON logs, its Prometheus registry, and the signal that
 * a token was revoked (the api reads it, the api and the CLI send it).
 */
@Module({})
export class RuntimeModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: RuntimeModule,
      global: true,
      imports: [loggingModule(settings), MetricsModule],
      providers: [TokenRevocations],
      exports: [MetricsModule, TokenRevocations],
    };
  }
}
