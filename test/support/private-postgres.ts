import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/**
 * A PostgreSQL cluster of the test's own (Debian's pg_createcluster), which the test may restart
 * without disturbing the machine's shared server. Trust auth on 127.0.0.1 only.
 */
export class PrivatePostgres {
  private readonly version = readdirSync('/etc/postgresql').sort().pop()!;
  readonly name = `katfault${randomBytes(3).toString('hex')}`;

  private constructor(readonly port: number) {}

  static create(port: number): PrivatePostgres {
    const cluster = new PrivatePostgres(port);
    execFileSync(
      'pg_createcluster',
      [
        cluster.version,
        cluster.name,
        '--port',
        String(port),
        '--start',
        '--',
        '--auth-local=trust',
        '--auth-host=trust',
      ],
      { stdio: 'pipe' },
    );
    return cluster;
  }

  get serverUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  restart(): void {
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', this.version, this.name, 'restart', '-m', 'fast'], {
      stdio: 'pipe',
    });
  }

  drop(): void {
    execFileSync('pg_dropcluster', ['--stop', this.version, this.name], { stdio: 'pipe' });
  }
}
