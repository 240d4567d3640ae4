// The built CLI as a user runs it: a child process, JSON out, exit codes.
import { execFile } from 'node:child_process';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LLAMA2C_GREEDY_200 } from '../../test/goldens.ts';
import { BAD_MODELS, writeBadModels } from '../../test/badModels.ts';
import { copyStoriesRepo, STORIES_GGUF, STORIES_HF_DIR } from '../../test/embedded.ts';
import { startHubServer, type HubServer } from '../../test/hubServer.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL_DIR = STORIES_HF_DIR;
let cli: string;
let badDir: string;

beforeAll(async () => {
  // Inside the repository, so the bundle resolves its externals from node_modules.
  const out = join(ROOT, 'node_modules', '.cache', 'pocket-hub-cli-test');
  await build({ configFile: join(ROOT, 'vite.cli.config.ts'), root: ROOT, build: { outDir: out }, logLevel: 'error' });
  cli = join(out, 'generate.js');
  badDir = await mkdtemp(join(tmpdir(), 'pocket-hub-bad-'));
  await writeBadModels(badDir);
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.each([
  ['GGUF', STORIES_GGUF],
  ['safetensors folder', MODEL_DIR],
])('generate --json from the %s', (_, model) => {
  test('greedy is token-exact with llama2.c run.c for 200 steps', async () => {
    const { code, stdout, stderr } = await run(['--model', model, '--prompt', '', '--temperature', '0', '--max-tokens', '200', '--json']);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.promptIds).toEqual([1]);
    expect(out.ids).toHaveLength(200);
    expect(out.text).toBe(LLAMA2C_GREEDY_200);
    expect(out.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(out.prefillTokensPerSecond).toBeGreaterThan(0);
  });

  test('the public golden prompt, with BOS in promptIds', async () => {
    const { stdout } = await run(['--model', model, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '40', '--json']);
    const out = JSON.parse(stdout);
    expect(out.promptIds).toEqual([1, 403, 407, 261, 378]);
    expect(out.text.startsWith(', there was a little girl named Lily. She loved to play outside in the park.')).toBe(true);
  });
});

test('streams text without --json', async () => {
  const { code, stdout, stderr } = await run(['--model', STORIES_GGUF, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '12']);
  expect(code, stderr).toBe(0);
  expect(stdout.startsWith('Once upon a time, there was a little girl')).toBe(true);
  expect(stderr).toMatch(/tok\/s/);
});

test.each(BAD_MODELS)('$path: $error and a non-zero exit', async (bad) => {
  const { code, stderr } = await run(['--model', join(badDir, bad.path), '--prompt', 'Once', '--json']);
  expect(code).toBe(1);
  expect(stderr).toContain(`error (${bad.error})`);
  expect(stderr).toMatch(bad.mentions);
});

test('a prompt longer than the context is refused with a hint', async () => {
  const { code, stderr } = await run(['--model', STORIES_GGUF, '--prompt', 'Once upon a time there was a dog. '.repeat(8), '--context', '32']);
  expect(code).toBe(1);
  expect(stderr).toContain('error (ContextOverflowError)');
  expect(stderr).toMatch(/Shorten the prompt/);
});

test('a missing model and bad flags exit non-zero with usage', async () => {
  const missing = await run(['--model', join(badDir, 'nope.gguf'), '--prompt', 'x']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('error (MissingFileError)');
  const flags = await run(['--model', STORIES_GGUF, '--prompt', 'x', '--top-k', 'many']);
  expect(flags.code).toBe(1);
  expect(flags.stderr).toMatch(/--top-k needs a whole number/);
});

describe('generate --model owner/name from a hub', () => {
  const REPO = 'pocket-hub/stories260K';
  let hub: HubServer;
  let cacheDir: string;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), 'pocket-hub-hub-'));
    await copyStoriesRepo(join(root, REPO));
    hub = await startHubServer({ root });
    cacheDir = await mkdtemp(join(tmpdir(), 'pocket-hub-cache-'));
  });
  // The offline test closes the hub itself.
  afterAll(() => hub?.close().catch(() => {}));

  // The weights' bytes are verified against the hub's hashes; 60 greedy tokens show the
  // verified file is the one generating (the 200-step runs above cover long generations).
  const greedy60 = ['--prompt', '', '--temperature', '0', '--max-tokens', '60', '--json'];
  const expectGolden = (stdout: string) => {
    const text = JSON.parse(stdout).text as string;
    expect(text.length).toBeGreaterThan(100);
    expect(LLAMA2C_GREEDY_200.startsWith(text)).toBe(true);
  };

  test('downloads through dropped connections, verifies, and generates token-exact', async () => {
    // Drops at several offsets inside the weight files: each download resumes and must still verify.
    for (const afterBytes of [1000, 300_000, 777_777]) hub.faults.add({ kind: 'drop', afterBytes, match: '/cdn/' });
    const { code, stdout, stderr } = await run(['--model', REPO, '--hub', hub.url, '--cache-dir', cacheDir, ...greedy60]);
    expect(code, stderr).toBe(0);
    expect(hub.faults.pending).toHaveLength(0);
    expectGolden(stdout);
  });

  test('a corrupted download is detected, fetched again, and never used', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-cache-'));
    hub.faults.add({ kind: 'corrupt', offsets: [12345], match: '/cdn/' });
    const { code, stdout, stderr } = await run(['--model', REPO, '--file', 'stories260K.gguf', '--hub', hub.url, '--cache-dir', dir, ...greedy60]);
    expect(code, stderr).toBe(0);
    expectGolden(stdout);
  });

  test('with the hub down, the cached model generates without the network', async () => {
    const before = hub.requests.length;
    await hub.close();
    const { code, stdout, stderr } = await run(['--model', REPO, '--hub', hub.url, '--cache-dir', cacheDir, ...greedy60]);
    expect(code, stderr).toBe(0);
    expectGolden(stdout);
    expect(hub.requests.length).toBe(before);
    // Not cached anywhere: a clear offline error.
    const empty = await mkdtemp(join(tmpdir(), 'pocket-hub-cache-'));
    const offline = await run(['--model', REPO, '--hub', hub.url, '--cache-dir', empty, ...greedy60]);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain('error (OfflineError)');
  });
});
