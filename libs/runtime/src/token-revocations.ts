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
/** A revocation committed, but the other processes could not be told at once. */
export class RevocationNotAnnounced extends Error {
  constructor() {
    super('the token is revoked, but Redis could not tell every API process at once: it may work up to 10 s more');
  }
}

@Injectable()
export class TokenRevocations implements OnModuleDestroy {
  private readonly logger = new Logger(TokenRevocations.name);
  private readonly redis: Redis;
  private readonly key: string;

  constructor(@Inject(KAT_SETTINGS) settings: KatSettings) {
    // No offline queue, no retries and a short timeout: while Redis is away or silent a command
    // fails at once, and authentication asks PostgreSQL instead of waiting.
    // Connected on first use: the worker and the scheduler have this too, and never use it.
    this.redis = new Redis(settings.REDIS_URL, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
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
   * Tells every API process that a token was revoked; call it after the revocation committed.
   * Throws when Redis cannot be told: the cached copies of the token then end only with their
   * cache time (TOKEN_CACHE_MS), and the one who revoked it must hear so.
   */
  async announce(): Promise<void> {
    this.connect();
    try {
      // Rare and important: worth waiting a moment for a connection being made.
      if (this.redis.status !== 'ready') await once(this.redis, 'ready', { signal: AbortSignal.timeout(2000) });
      await this.redis.incr(this.key);
    } catch (error) {
      this.logger.error(`a revocation could not be announced: ${(error as Error).message}`);
      throw new RevocationNotAnnounced();
    }
  }

  private connect(): void {
    if (this.redis.status === 'wait') this.redis.connect().catch(() => undefined);
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}
