// Formatting for the Storage page. Sizes use binary units (MiB, GiB) because browser quotas and
// disk space are reported in them, unlike the Hub's SI file sizes in format.ts.

const binaryUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBinaryBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < binaryUnits.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  // Two decimals below ten so that a 1.25 GiB model and a 1.2 GiB one read differently.
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${binaryUnits[unit]}`;
}

/** A commit short enough to read, as git shows it. */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}

const steps: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];

/** "5 minutes ago", "yesterday"; `locale` is left to the browser in the app and pinned in tests. */
export function formatRelativeTime(then: number, now: number, locale?: string): string {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  let amount = (then - now) / 1000;
  // Under a minute reads as "now": seconds would tick by on a page that does not re-render.
  if (Math.abs(amount) < 60) return format.format(0, 'second');
  for (const [unit, size] of steps) {
    // Compared after rounding so that 59.6 minutes reads "1 hour ago", not "60 minutes ago".
    if (Math.abs(Math.round(amount)) < size) return format.format(Math.round(amount), unit);
    amount /= size;
  }
  return format.format(Math.round(amount), 'year');
}

/** The share of the quota used, as a whole percentage; undefined when the browser reports no quota. */
export function usagePercent(usage: number, quota: number): number | undefined {
  if (!(quota > 0)) return undefined;
  return Math.min(100, Math.round((usage / quota) * 100));
}
