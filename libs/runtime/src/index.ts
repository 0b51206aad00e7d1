export * from './graceful-shutdown';
export * from './health-port';
export * from './logging';
export * from './metrics';
export * from './runtime.module';
export * from './token-revocations';
