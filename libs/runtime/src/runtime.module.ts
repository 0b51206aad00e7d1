import { DynamicModule, Module } from '@nestjs/common';
import { KatSettings } from '@kat/domain';
import { loggingModule } from './logging';
import { MetricsModule } from './metrics';

/** What every process has whatever it does: JSON logs and its Prometheus registry. */
@Module({})
export class RuntimeModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: RuntimeModule,
      global: true,
      imports: [loggingModule(settings), MetricsModule],
      exports: [MetricsModule],
    };
  }
}
