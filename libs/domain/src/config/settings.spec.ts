import { loadSettings } from './settings';

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
});
