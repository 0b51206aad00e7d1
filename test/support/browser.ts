import { Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, headless, with the flags this machine's closed network needs
 * (playwright-core downloads no browser).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
