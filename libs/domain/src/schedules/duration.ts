const ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i;

/** The longest interval a schedule may have: ten years (its column is a 32-bit integer of seconds). */
export const MAX_INTERVAL_SECONDS = 10 * 366 * 86400;

/**
 * Seconds in an interval given as ISO 8601 (`PT24H`, `P1D`, `P1W`, `PT90M`) or as seconds (`3600`).
 * Years and months are refused: their length varies.
 */
export function parseInterval(value: unknown): number | null {
  const inRange = (total: number) => (total > 0 && total <= MAX_INTERVAL_SECONDS ? total : null);
  if (typeof value === 'number') return Number.isInteger(value) ? inRange(value) : null;
  if (typeof value !== 'string') return null;
  if (/^\d+$/.test(value)) return inRange(Number(value));
  const match = ISO_DURATION.exec(value);
  if (!match || value === 'P' || value.toUpperCase().endsWith('T')) return null;
  const [weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  const total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds;
  return inRange(total);
}

/** Seconds as the shortest ISO 8601 duration: 86400 → `P1D`, 5400 → `PT1H30M`. */
export function formatInterval(total: number): string {
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds ? `${seconds}S` : ''}`;
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}
