import { beforeEach, expect, test, vi } from 'vitest';
import type { GenerateEvent, GenerateRequest, GenerationResult } from '../protocol/index.ts';
import { MAX_WAITING, runGeneration, stopAllRuns, useEngineRuns } from './engineRuns.ts';

// The engine client, replaced by one that refuses a second generation as the worker does, and
// whose runs the test finishes by hand.
const engine = vi.hoisted(() => ({
  runs: [] as { request: GenerateRequest; onEvent: (e: GenerateEvent) => void; finish: (reason: 'length' | 'abort') => void }[],
  running: false,
  aborts: 0,
}));

vi.mock('./engineClient.ts', () => ({
  generate: (request: GenerateRequest, onEvent: (e: GenerateEvent) => void) =>
    new Promise<GenerationResult>((resolve, reject) => {
      if (engine.running) return reject(new Error('A generation is already running: stop it first.'));
      engine.running = true;
      const stats = { promptTokens: 1, generatedTokens: 1, timeToFirstTokenMs: 1, prefillTokensPerSecond: 1, decodeTokensPerSecond: 1 };
      engine.runs.push({
        request,
        onEvent,
        finish: (reason) => {
          engine.running = false;
          resolve({ promptIds: [1], ids: [2], text: String(request.prompt), reason, stats });
        },
      });
    }),
  abort: () => {
    engine.aborts++;
    engine.runs.find((r, i) => i === engine.runs.length - 1)?.finish('abort');
  },
}));

const labels = () => {
  const { running, waiting } = useEngineRuns.getState();
  return { running: running?.label, waiting: waiting.map((w) => w.label) };
};

beforeEach(async () => {
  stopAllRuns();
  await vi.waitFor(() => expect(useEngineRuns.getState().running).toBeUndefined());
  engine.runs.length = 0;
  engine.aborts = 0;
});

test('a run asked for while another holds the engine waits its turn instead of being refused', async () => {
  const widget = runGeneration('the run box', { prompt: 'a' }, () => {});
  const started: string[] = [];
  const sdk = runGeneration('a page using the SDK', { prompt: 'b' }, () => {}, () => started.push('sdk'));
  expect(engine.runs.map((r) => r.request.prompt)).toEqual(['a']);
  expect(labels()).toEqual({ running: 'the run box', waiting: ['a page using the SDK'] });
  expect(started).toEqual([]);

  engine.runs[0].finish('length');
  expect((await widget.result).text).toBe('a');
  await vi.waitFor(() => expect(started).toEqual(['sdk']));
  expect(labels()).toEqual({ running: 'a page using the SDK', waiting: [] });
  engine.runs[1].finish('length');
  expect((await sdk.result).text).toBe('b');
  await vi.waitFor(() => expect(labels()).toEqual({ running: undefined, waiting: [] }));
});

test('stopping a waiting run takes it out of the queue and leaves the running one alone', async () => {
  const chat = runGeneration('the chat', { prompt: 'a' }, () => {});
  const widget = runGeneration('the run box', { prompt: 'b' }, () => {});
  const third = runGeneration('Story Writer', { prompt: 'c' }, () => {});
  widget.stop();
  await expect(widget.result).rejects.toMatchObject({ name: 'AbortError', message: 'the run box was stopped before the engine got to it.' });
  expect(engine.aborts).toBe(0);
  expect(labels()).toEqual({ running: 'the chat', waiting: ['Story Writer'] });

  // Stopping the running one stops the engine; the next in line then starts.
  chat.stop();
  chat.stop();
  expect(engine.aborts).toBe(1);
  expect((await chat.result).reason).toBe('abort');
  await vi.waitFor(() => expect(engine.runs.map((r) => r.request.prompt)).toEqual(['a', 'c']));
  engine.runs[1].finish('length');
  expect((await third.result).reason).toBe('length');
});

test(`beyond ${MAX_WAITING} waiting runs a new one is refused, naming what the engine is doing`, async () => {
  const queued = [runGeneration('the chat', { prompt: 'a' }, () => {})];
  for (let i = 0; i < MAX_WAITING; i++) queued.push(runGeneration(`page ${i}`, { prompt: String(i) }, () => {}));
  // The next test's beforeEach stops these.
  for (const run of queued) run.result.catch(() => {});
  const refused = runGeneration('one more page', { prompt: 'x' }, () => {});
  await expect(refused.result).rejects.toMatchObject({
    name: 'InvalidArgumentError',
    message: `The engine is generating for the chat and ${MAX_WAITING} more runs are waiting, so one more page was not queued.`,
  });
  expect(useEngineRuns.getState().waiting).toHaveLength(MAX_WAITING);
});

test('stopAllRuns empties the queue and stops the run in progress', async () => {
  const first = runGeneration('the chat', { prompt: 'a' }, () => {});
  const second = runGeneration('the run box', { prompt: 'b' }, () => {});
  stopAllRuns();
  await expect(second.result).rejects.toMatchObject({ name: 'AbortError' });
  expect((await first.result).reason).toBe('abort');
  expect(engine.runs).toHaveLength(1);
  await vi.waitFor(() => expect(labels()).toEqual({ running: undefined, waiting: [] }));
});
