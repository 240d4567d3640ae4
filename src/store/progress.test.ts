import { expect, test } from 'vitest';
import { advanceStage, finishEarlierStages } from './progress.ts';

test('a stage measures its rate and time left from its first event', () => {
  const first = advanceStage(undefined, { kind: 'read', loaded: 1000, total: 11_000, file: 'a.gguf' }, 0);
  expect(first.rate).toBeUndefined();
  const second = advanceStage(first, { kind: 'read', loaded: 3000, total: 11_000, file: 'a.gguf' }, 2000);
  expect(second.rate).toBe(1000);
  expect(second.etaSeconds).toBe(8);
});

test('a new file restarts the measurement', () => {
  const a = advanceStage(undefined, { kind: 'read', loaded: 0, total: 100, file: 'config.json' }, 0);
  const aDone = advanceStage(a, { kind: 'read', loaded: 100, total: 100, file: 'config.json' }, 1000);
  const b = advanceStage(aDone, { kind: 'read', loaded: 50, total: 5000, file: 'model.safetensors' }, 5000);
  expect(b.startedAt).toBe(5000);
  expect(b.startLoaded).toBe(50);
  expect(b.rate).toBeUndefined();
});

test('a later stage completes the earlier ones and leaves itself alone', () => {
  const read = advanceStage(undefined, { kind: 'read', loaded: 90, total: 100 }, 0);
  const warmup = advanceStage(undefined, { kind: 'warmup', loaded: 0, total: 1 }, 0);
  const stages = finishEarlierStages({ read, warmup }, 'warmup');
  expect(stages.read?.loaded).toBe(100);
  expect(stages.warmup?.loaded).toBe(0);
  expect(stages.upload).toBeUndefined();
});

test('a download measures its rate across files, restarting only when the count goes back', () => {
  const a = advanceStage(undefined, { kind: 'download', loaded: 0, total: 3000, file: 'config.json', fileLoaded: 0, fileTotal: 100 }, 0);
  const b = advanceStage(a, { kind: 'download', loaded: 1100, total: 3000, file: 'model.safetensors', fileLoaded: 1000, fileTotal: 2900 }, 1000);
  expect(b).toMatchObject({ rate: 1100, startedAt: 0, file: 'model.safetensors', fileLoaded: 1000, fileTotal: 2900 });
  // A dropped connection takes the count back to the last stored chunk.
  const c = advanceStage(b, { kind: 'download', loaded: 100, total: 3000, file: 'model.safetensors', fileLoaded: 0, fileTotal: 2900 }, 2000);
  expect(c).toMatchObject({ startedAt: 2000, startLoaded: 100, rate: undefined });
});
