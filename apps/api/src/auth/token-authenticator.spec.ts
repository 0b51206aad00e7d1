import { UnauthorizedException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { ApiTokenRepository, OrganizationRepository, TokenHolder } from '@kat/domain';
import { TokenRevocations } from '@kat/runtime';
import { TokenAuthenticator } from './token-authenticator';

/**
 * The cache's one hard rule, with the database and Redis replaced by fakes whose timing the test
 * controls: a lookup that started before a revocation must not be trusted after it.
 */
describe('TokenAuthenticator', () => {
  const holder = (id: number, revoked = false): TokenHolder => ({
    id,
    name: `token ${id}`,
    is_admin: false,
    access: 'write',
    organization_id: 1,
    organization_code: 'acme',
    expires_at: null,
    revoked_at: revoked ? new Date() : null,
  });

  function fixture() {
    let generation = 0;
    const rows = new Map<string, TokenHolder>();
    const gates = new Map<string, Promise<void>>();
    const tokens = {
      findByHash: async (hash: string) => {
        await gates.get(hash);
        return rows.get(hash) ?? null;
      },
      touch: async () => undefined,
    };
    const revocations = { generation: async () => String(generation) };
    const authenticator = new TokenAuthenticator(
      tokens as unknown as ApiTokenRepository,
      {} as OrganizationRepository,
      revocations as unknown as TokenRevocations,
    );
    return {
      authenticator,
      rows,
      revoke: () => generation++,
      /** Lookups of `hash` wait until the returned function is called. */
      hold: (hash: string) => {
        let open = () => undefined as void;
        gates.set(hash, new Promise<void>((resolve) => (open = resolve)));
        return () => {
          gates.delete(hash);
          open();
        };
      },
    };
  }

  const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

  it('trusts a cached token until a revocation, then asks again', async () => {
    const f = fixture();
    f.rows.set(hashOf('a'), holder(1));
    await f.authenticator.authenticate('a');
    f.rows.set(hashOf('a'), holder(1, true)); // revoked in the database: the cache still says valid
    await expect(f.authenticator.authenticate('a')).resolves.toMatchObject({ tokenId: 1 });
    f.revoke();
    await expect(f.authenticator.authenticate('a')).rejects.toThrow(UnauthorizedException);
  });

  it('does not cache what a lookup found if a revocation came while it was under way', async () => {
    const f = fixture();
    f.rows.set(hashOf('a'), holder(1));
    f.rows.set(hashOf('b'), holder(2));
    const release = f.hold(hashOf('a'));
    const slow = f.authenticator.authenticate('a'); // reads the count, then waits in its lookup
    await new Promise((resolve) => setImmediate(resolve));
    f.revoke(); // token a is revoked meanwhile…
    await f.authenticator.authenticate('b'); // …and another request moves the cache on
    release();
    await expect(slow).resolves.toMatchObject({ tokenId: 1 }); // its answer predates the revocation
    f.rows.set(hashOf('a'), holder(1, true));
    await expect(f.authenticator.authenticate('a')).rejects.toThrow(UnauthorizedException);
  });
});
