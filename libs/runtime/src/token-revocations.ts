import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings } from '@kat/domain';
import Redis from 'ioredis';
import { once } from 'node:events';

/**
 * Makes a token's revocation take effect at once in every API process, although each caches the
 * tokens it found for a few seconds: a counter in Redis that a revocation increments before it is
 * answered, and that each authentication reads (one GET). A cached token is trusted only under the
 * counter it was cached with. When Redis cannot say, no cached token is trusted: every request asks
 * PostgreSQL, which is slower but never wrong.
 */
@Injectable()
export class TokenRevocations implements OnModuleDestroy {
  private readonly logger = new Logger(TokenRevocations.name);
  private readonly redis: Redis;
  private readonly key: string;

  constructor(@Inject(KAT_SETTINGS) settings: KatSettings) {
    // No offline queue and no retries: a command fails at once while Redis is away, not later.
    // Connected on first use: the worker and the scheduler have this too, and never use it.
    this.redis = new Redis(settings.REDIS_URL, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    this.redis.on('error', (error: Error) => this.logger.debug(`Redis: ${error.message}`));
    this.key = `${settings.QUEUE_PREFIX}:token-revocations`;
  }

  /** The number of revocations so far; null when Redis cannot be asked. */
  async generation(): Promise<string | null> {
    this.connect();
    try {
      return (await this.redis.get(this.key)) ?? '0';
    } catch {
      return null;
    }
  }

  /**
   * Tells every API process that a token was revoked. Call it after the revocation committed. If
   * Redis is away, the cached copies of the token end with their cache time (TOKEN_CACHE_MS).
   */
  async announce(): Promise<void> {
    this.connect();
    try {
      // Rare and important: worth waiting a moment for a connection being made.
      if (this.redis.status !== 'ready') await once(this.redis, 'ready', { signal: AbortSignal.timeout(2000) });
      await this.redis.incr(this.key);
    } catch (error) {
      this.logger.error(`a revocation could not be announced: ${(error as Error).message}`);
    }
  }

  private connect(): void {
    if (this.redis.status === 'wait') this.redis.connect().catch(() => undefined);
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}
