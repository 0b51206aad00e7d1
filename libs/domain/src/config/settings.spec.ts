import { loadSettings, logLevels } from './settings';

describe('loadSettings', () => {
  it('uses defaults and reads typed values from the environment', () => {
    const settings = loadSettings({ PORT: '8080', SCHEDULER_ENABLED: 'false', UNRELATED: 'x' });
    expect(settings.PORT).toBe(8080);
    expect(settings.SCHEDULER_ENABLED).toBe(false);
    expect(settings.WORKER_CONCURRENCY).toBe(4);
    expect(settings).not.toHaveProperty('UNRELATED');
  });

  it('stops with a message naming every bad variable', () => {
    expect(() => loadSettings({ PORT: 'eighty', WORKER_CONCURRENCY: '0', PLUGIN_API_URL: 'nowhere' })).toThrow(
      /Invalid configuration:\n {2}PORT="eighty": .*\n {2}PLUGIN_API_URL="nowhere": .*\n {2}WORKER_CONCURRENCY="0": WORKER_CONCURRENCY must not be less than 1/,
    );
  });

  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    ['On', true],
    ['0', false],
    ['false', false],
    ['no', false],
  ])('reads %s as the boolean %s', (given, expected) => {
    expect(loadSettings({ SCHEDULER_ENABLED: given }).SCHEDULER_ENABLED).toBe(expected);
  });

  it('takes an empty variable as unset, so the default holds', () => {
    const settings = loadSettings({ SCHEDULER_ENABLED: '', PORT: '', DOCKER_HOST: '', REAP_INTERVAL_SECONDS: '' });
    expect(settings).toMatchObject({ SCHEDULER_ENABLED: true, PORT: 3000 });
    expect(settings.DOCKER_HOST).toBeUndefined();
    expect(settings.REAP_INTERVAL_SECONDS).toBeUndefined();
  });

  it('reads the optional settings when they are given', () => {
    expect(loadSettings({ DOCKER_HOST: 'tcp://engine:2375', REAP_INTERVAL_SECONDS: '90' })).toMatchObject({
      DOCKER_HOST: 'tcp://engine:2375',
      REAP_INTERVAL_SECONDS: 90,
    });
  });

  it('reads SECRETS_KEY as hex or base64 of 32 bytes, and names it, without its value, when it is not', () => {
    const hex = 'ab'.repeat(32);
    expect(loadSettings({ SECRETS_KEY: hex }).SECRETS_KEY).toBe(hex);
    expect(loadSettings({ SECRETS_KEY: Buffer.alloc(32, 7).toString('base64') }).SECRETS_KEY).toBeDefined();
    expect(loadSettings({ SECRETS_KEY: '' }).SECRETS_KEY).toBeUndefined();
    const bad = 'my-precious-passphrase';
    expect(() => loadSettings({ SECRETS_KEY: bad })).toThrow(
      'Invalid configuration:\n  SECRETS_KEY=(not shown): SECRETS_KEY must be 32 bytes: 64 hex characters or base64',
    );
    expect(() => loadSettings({ SECRETS_KEY: bad })).not.toThrow(new RegExp(bad));
  });

  it('logs at the level asked and every more severe one', () => {
    expect(logLevels(loadSettings({ LOG_LEVEL: 'warn' }))).toEqual(['fatal', 'error', 'warn']);
    expect(logLevels(loadSettings({ LOG_LEVEL: 'verbose' }))).toHaveLength(6);
  });
});
