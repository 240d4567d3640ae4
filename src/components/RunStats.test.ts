import { expect, test } from 'vitest';
import { contextUsed } from './RunStats.tsx';

test('context used counts the prompt and the reply against the context length', () => {
  expect(contextUsed({ promptTokens: 30, generatedTokens: 10 }, 512)).toBe('40 of 512 tokens (7%)');
});

test('the share reads 100% only when the context is full', () => {
  expect(contextUsed({ promptTokens: 2000, generatedTokens: 47 }, 2048)).toBe('2047 of 2048 tokens (99%)');
  expect(contextUsed({ promptTokens: 2000, generatedTokens: 48 }, 2048)).toBe('2048 of 2048 tokens (100%)');
});
