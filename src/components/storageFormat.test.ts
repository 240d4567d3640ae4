import { expect, test } from 'vitest';
import { formatBinaryBytes, formatRelativeTime, shortCommit, usagePercent } from './storageFormat.ts';

test('sizes use binary units', () => {
  expect(formatBinaryBytes(0)).toBe('0 B');
  expect(formatBinaryBytes(1023)).toBe('1023 B');
  expect(formatBinaryBytes(1536)).toBe('1.50 KiB');
  expect(formatBinaryBytes(1_185_376)).toBe('1.13 MiB');
  expect(formatBinaryBytes(42 * 2 ** 20)).toBe('42.0 MiB');
  expect(formatBinaryBytes(700 * 2 ** 20)).toBe('700 MiB');
  expect(formatBinaryBytes(1.25 * 2 ** 30)).toBe('1.25 GiB');
});

test('relative times', () => {
  const now = Date.UTC(2026, 0, 15, 12);
  const ago = (seconds: number) => formatRelativeTime(now - seconds * 1000, now, 'en');
  expect(ago(10)).toBe('now');
  expect(ago(-10)).toBe('now');
  expect(ago(5 * 60)).toBe('5 minutes ago');
  expect(ago(59.7 * 60)).toBe('1 hour ago');
  expect(ago(3 * 3600)).toBe('3 hours ago');
  expect(ago(26 * 3600)).toBe('yesterday');
  expect(ago(4 * 86400)).toBe('4 days ago');
  expect(ago(15 * 86400)).toBe('2 weeks ago');
  expect(ago(90 * 86400)).toBe('3 months ago');
  expect(ago(800 * 86400)).toBe('2 years ago');
});

test('short commits and usage shares', () => {
  expect(shortCommit('0123456789abcdef0123456789abcdef01234567')).toBe('0123456');
  expect(usagePercent(25, 100)).toBe(25);
  expect(usagePercent(150, 100)).toBe(100);
  expect(usagePercent(10, 0)).toBeUndefined();
});
