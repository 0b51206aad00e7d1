import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { freePort } from './free-port';

/**
 * A PostgreSQL cluster of the test's own (Debian's pg_createcluster), which the test may restart
 * without disturbing the machine's shared server. Trust auth on 127.0.0.1 only.
 */
export class PrivatePostgres {
  private static readonly version = readdirSync('/etc/postgresql').sort().pop()!;

  private constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  /**
   * On a free port below the ephemeral range (freePort). Another test's server can still take it
   * before the postmaster binds it, so a failed start drops the half-made cluster and tries again
   * on another port.
   */
  static async create(attempts = 3): Promise<PrivatePostgres> {
    for (let attempt = 1; ; attempt++) {
      const cluster = new PrivatePostgres(`katfault${randomBytes(3).toString('hex')}`, await freePort());
      try {
        execFileSync(
          'pg_createcluster',
          [
            PrivatePostgres.version,
            cluster.name,
            '--port',
            String(cluster.port),
            '--start',
            '--',
            '--auth-local=trust',
            '--auth-host=trust',
          ],
          { stdio: 'pipe' },
        );
        return cluster;
      } catch (error) {
        try {
          cluster.drop();
        } catch {
          // pg_createcluster failed before it made the cluster: nothing to drop
        }
        if (attempt >= attempts) throw error;
      }
    }
  }

  get serverUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  restart(): void {
    execFileSync(
      'pg_ctlcluster',
      ['--skip-systemctl-redirect', PrivatePostgres.version, this.name, 'restart', '-m', 'fast'],
      { stdio: 'pipe' },
    );
  }

  drop(): void {
    execFileSync('pg_dropcluster', ['--stop', PrivatePostgres.version, this.name], { stdio: 'pipe' });
  }
}
