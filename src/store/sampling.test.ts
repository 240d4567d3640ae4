import { describe, expect, test } from 'vitest';
import { isPocketHubError } from '../protocol/index.ts';
import { defaultSampling, greedySampling, parseSampling } from './sampling.ts';

describe('parseSampling', () => {
  test('the defaults parse to the documented values, with a random seed', () => {
    expect(parseSampling(defaultSampling, 2048)).toEqual({
      temperature: 0.8,
      topK: 40,
      topP: 0.95,
      repetitionPenalty: 1.1,
      maxTokens: 256,
    });
  });

  test('greedy is temperature 0 without a penalty, and a seed is kept', () => {
    const parsed = parseSampling({ ...defaultSampling, ...greedySampling, seed: ' 42 ' }, 2048);
    expect(parsed).toMatchObject({ temperature: 0, repetitionPenalty: 1, seed: 42 });
  });

  test.each([
    ['temperature', '-0.1', 'Temperature'],
    ['temperature', '', 'Temperature'],
    ['topK', '2.5', 'Top-k'],
    ['topP', '0', 'Top-p'],
    ['repetitionPenalty', 'abc', 'Repetition penalty'],
    ['maxTokens', '0', 'Max new tokens'],
    ['seed', '-1', 'Seed'],
  ] as const)('%s = %j is refused with a message naming %s', (key, value, label) => {
    let caught: unknown;
    try {
      parseSampling({ ...defaultSampling, [key]: value }, 2048);
    } catch (err) {
      caught = err;
    }
    expect(isPocketHubError(caught, 'InvalidArgumentError')).toBe(true);
    expect((caught as Error).message).toContain(label);
  });

  test('max new tokens cannot exceed the context', () => {
    expect(parseSampling({ ...defaultSampling, maxTokens: '512' }, 512).maxTokens).toBe(512);
    expect(() => parseSampling({ ...defaultSampling, maxTokens: '513' }, 512)).toThrow('from 1 to 512');
  });
});
