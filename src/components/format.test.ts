import { expect, test } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatTokensPerSecond } from './format.ts';

test('bytes use SI units with one decimal below ten', () => {
  expect(formatBytes(999)).toBe('999 B');
  expect(formatBytes(1_185_376)).toBe('1.2 MB');
  expect(formatBytes(42_000_000)).toBe('42 MB');
  expect(formatBytes(3.5e9)).toBe('3.5 GB');
});

test('durations', () => {
  expect(formatDuration(0.2)).toBe('under 1 s');
  expect(formatDuration(42.4)).toBe('42 s');
  expect(formatDuration(185)).toBe('3 min 5 s');
  expect(formatDuration(3900)).toBe('1 h 5 min');
});

test('rates and counts', () => {
  expect(formatTokensPerSecond(12.345)).toBe('12.3 tokens/s');
  expect(formatTokensPerSecond(1234.5)).toBe('1235 tokens/s');
  expect(formatCount(292_928)).toBe('293K');
  expect(formatCount(1_700_000_000)).toBe('1.7B');
});
