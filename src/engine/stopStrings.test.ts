import { expect, test } from 'vitest';
import { StopMatcher } from './stopStrings.ts';

test('text that cannot start a stop string goes out at once', () => {
  const m = new StopMatcher(['\n\n']);
  expect(m.push('Hello')).toEqual({ emit: 'Hello', stopped: false });
  expect(m.push(' world')).toEqual({ emit: ' world', stopped: false });
});

test('a possible start of a stop string is held back, then released when it is not one', () => {
  const m = new StopMatcher(['User:']);
  expect(m.push('Sure. Us')).toEqual({ emit: 'Sure. ', stopped: false });
  expect(m.push('ually')).toEqual({ emit: 'Usually', stopped: false });
});

test('a stop string split over tokens stops generation and is never emitted', () => {
  const m = new StopMatcher(['User:']);
  expect(m.push('Done.\nUs')).toEqual({ emit: 'Done.\n', stopped: false });
  expect(m.push('er: next')).toEqual({ emit: '', stopped: true });
});

test('the earliest of several stop strings wins, and flush returns what was held', () => {
  const m = new StopMatcher(['END', 'E!']);
  expect(m.push('abcE')).toEqual({ emit: 'abc', stopped: false });
  expect(m.flush()).toBe('E');
  const n = new StopMatcher(['b', 'abc']);
  expect(n.push('xabc')).toEqual({ emit: 'x', stopped: true });
});
