import { formatInterval, MAX_INTERVAL_SECONDS, parseInterval } from './duration';

describe('schedule intervals', () => {
  it.each([
    ['PT24H', 86400],
    ['P1D', 86400],
    ['P1W', 604800],
    ['PT1H30M', 5400],
    ['pt45s', 45],
    ['P1DT1S', 86401],
    ['3600', 3600],
    [60, 60],
    [MAX_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS],
  ])('reads %j as %d seconds', (value, seconds) => {
    expect(parseInterval(value)).toBe(seconds);
  });

  it.each(['P1M', 'P1Y', 'PT', 'P', '0', 'PT0S', '-5', 'soon', 1.5, 0, null, 1e20, 'P600W', MAX_INTERVAL_SECONDS + 1])(
    'refuses %j',
    (value) => {
      expect(parseInterval(value)).toBeNull();
    },
  );

  it.each([
    [86400, 'P1D'],
    [5400, 'PT1H30M'],
    [45, 'PT45S'],
    [90061, 'P1DT1H1M1S'],
  ])('writes %d as %s', (seconds, text) => {
    expect(formatInterval(seconds)).toBe(text);
    expect(parseInterval(text)).toBe(seconds);
  });
});
