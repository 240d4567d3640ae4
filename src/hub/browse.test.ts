import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { diskLocation, fileSource } from '../cli/nodeFiles.ts';
import { elementCount } from '../engine/formats/dtype.ts';
import { writeGguf } from '../engine/formats/ggufWriter.ts';
import { readSafetensors } from '../engine/formats/safetensors.ts';
import { readTensorF32 } from '../engine/formats/source.ts';
import { writeSafetensors } from '../engine/formats/safetensorsWriter.ts';
import { openModel } from '../engine/open.ts';
import type { ModelFacts, RepoSearch } from '../protocol/index.ts';
import { buildStaticHub, staticHubHandler } from '../../scripts/staticHub.ts';
import { EMBEDDED_HUB, STORIES_GGUF, STORIES_HF_DIR } from '../../test/embedded.ts';
import { countBodyBytes, startHubServer, type HubServer } from '../../test/hubServer.ts';
import { expectPocketHubError } from '../../test/storeContract.ts';
import { describeRepo, searchRepos } from './browse.ts';
import { modelFacts } from './modelFacts.ts';
import { HubClient } from './client.ts';

const HF = 'pocket-hub/stories260K';
const GGUF = 'pocket-hub/stories260K-GGUF';
const SPACE = 'pocket-hub/hello';
const SHARDED = 'test/stories-sharded';
const GATED = 'test/gated';
const QWEN = 'test/mamba-like';
const BERT = 'test/bert-GGUF';
const ROPE = 'test/rope-scaled';
const TOKEN = 'hf_granted';
// On both hubs; listings of models leave it out, as it does not generate text.
const EMBEDDER = 'test/embedder';

const SPACE_README = '---\ntitle: Hello\nemoji: 👋\nsdk: static\nshort_description: A page that says hello\ntags: [demo]\n---\n# Hello\n';

let staticRoot: string;
let hubRoot: string;
let staticServer: Server;
let staticUrl: string;
/** Body bytes the static host sent, reset before each test. */
let staticBytes = 0;
let hub: HubServer;
let deadUrl: string;

function listen(server: Server): Promise<string> {
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const md = (front: string, body = '') => `---\n${front}\n---\n${body}`;

/** stories260K's tensors cast to BF16 and split over two shards with an index, as large checkpoints ship. */
async function writeShardedStories(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { tensors } = await readSafetensors(await fileSource(join(STORIES_HF_DIR, 'model.safetensors')));
  const inputs = await Promise.all(tensors.map(async (t) => ({ name: t.name, dtype: 'BF16' as const, shape: t.shape, data: await readTensorF32(t) })));
  const half = Math.ceil(inputs.length / 2);
  const shards = { 'model-00001-of-00002.safetensors': inputs.slice(0, half), 'model-00002-of-00002.safetensors': inputs.slice(half) };
  const weightMap: Record<string, string> = {};
  for (const [name, part] of Object.entries(shards)) {
    await writeFile(join(dir, name), writeSafetensors(part));
    for (const t of part) weightMap[t.name] = name;
  }
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await cp(join(STORIES_HF_DIR, name), join(dir, name));
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ ...JSON.parse(await readFile(join(STORIES_HF_DIR, 'tokenizer_config.json'), 'utf8')), chat_template: '{{ messages[0].content }}' }),
  );
  await writeFile(join(dir, 'README.md'), md('pipeline_tag: text-generation\nlibrary_name: transformers'));
}

beforeAll(async () => {
  // The embedded hub's models plus one Space of the test's own (the app's Spaces change more
  // often than these listings should), built and served as a static host serves it.
  staticRoot = await mkdtemp(join(tmpdir(), 'browse-static-'));
  await cp(join(EMBEDDED_HUB, 'models'), join(staticRoot, 'models'), { recursive: true });
  await mkdir(join(staticRoot, 'spaces', SPACE), { recursive: true });
  await writeFile(join(staticRoot, 'spaces', SPACE, 'README.md'), SPACE_README);
  await writeFile(join(staticRoot, 'spaces', SPACE, 'index.html'), '<!doctype html><p>hello</p>');
  await mkdir(join(staticRoot, 'models', EMBEDDER), { recursive: true });
  await writeFile(join(staticRoot, 'models', EMBEDDER, 'README.md'), md('pipeline_tag: feature-extraction\nlibrary_name: transformers'));
  const files = await buildStaticHub(staticRoot);
  staticServer = createServer((req, res) => {
    countBodyBytes(res, (n) => (staticBytes += n));
    void staticHubHandler(async () => files)(req, res, () => res.writeHead(404).end());
  });
  staticUrl = `${await listen(staticServer)}/hub`;

  hubRoot = await mkdtemp(join(tmpdir(), 'browse-hub-'));
  await cp(join(EMBEDDED_HUB, 'models', HF), join(hubRoot, HF), { recursive: true });
  await cp(join(EMBEDDED_HUB, 'models', GGUF), join(hubRoot, GGUF), { recursive: true });
  await writeShardedStories(join(hubRoot, SHARDED));
  await cp(join(hubRoot, HF), join(hubRoot, GATED), { recursive: true });
  await cp(join(staticRoot, 'models', EMBEDDER), join(hubRoot, EMBEDDER), { recursive: true });
  // Llama 3.1's RoPE stretch on stories260K; no card, so listings leave it out.
  await cp(STORIES_HF_DIR, join(hubRoot, ROPE), { recursive: true });
  await rm(join(hubRoot, ROPE, 'README.md'));
  const ropeScaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 256 };
  await writeFile(join(hubRoot, ROPE, 'config.json'), JSON.stringify({ ...JSON.parse(await readFile(join(STORIES_HF_DIR, 'config.json'), 'utf8')), rope_scaling: ropeScaling }));

  const qwen = join(hubRoot, QWEN);
  await mkdir(qwen, { recursive: true });
  await writeFile(
    join(qwen, 'config.json'),
    JSON.stringify({ model_type: 'mamba', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 16, max_position_embeddings: 4096 }),
  );
  await writeFile(join(qwen, 'model.safetensors'), writeSafetensors([{ name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [16, 32], data: new Float32Array(512) }]));
  await writeFile(join(qwen, 'tokenizer.json'), '{}');
  await writeFile(join(qwen, 'README.md'), md('pipeline_tag: text-generation\nlibrary_name: transformers'));

  // An architecture the engine does not run, whose 16 MiB tensor dwarfs its header.
  const bert = join(hubRoot, BERT);
  await mkdir(bert, { recursive: true });
  await writeFile(
    join(bert, 'bert-F32.gguf'),
    writeGguf({
      metadata: {
        'general.architecture': { type: 'string', value: 'bert' },
        'bert.block_count': { type: 'u32', value: 3 },
        'bert.embedding_length': { type: 'u32', value: 1024 },
        'bert.attention.head_count': { type: 'u32', value: 16 },
        'bert.context_length': { type: 'u32', value: 512 },
      },
      tensors: [{ name: 'token_embd.weight', dtype: 'F32', shape: [4096, 1024], data: new Float32Array(4096 * 1024) }],
    }),
  );
  await writeFile(join(bert, 'README.md'), md('pipeline_tag: text-generation\nlibrary_name: gguf'));

  for (const [id, sdk] of [
    ['test/chat-space', 'chat'],
    ['test/gradio-space', 'gradio'],
  ]) {
    await mkdir(join(hubRoot, 'spaces', id), { recursive: true });
    await writeFile(join(hubRoot, 'spaces', id, 'README.md'), md(`title: ${id}\nsdk: ${sdk}`));
  }
  await cp(join(staticRoot, 'spaces', SPACE), join(hubRoot, 'spaces', SPACE), { recursive: true });

  hub = await startHubServer({
    root: hubRoot,
    gated: { [GATED]: [TOKEN] },
    cdnHost: 'localhost',
    stats: {
      [SHARDED]: { downloads: 50, likes: 1, lastModified: '2025-01-01T00:00:00.000Z' },
      [QWEN]: { downloads: 900, likes: 3, lastModified: '2024-01-01T00:00:00.000Z' },
      [BERT]: { downloads: 10, likes: 40, lastModified: '2025-06-01T00:00:00.000Z' },
      'spaces/test/chat-space': { likes: 2 },
      'spaces/test/gradio-space': { likes: 7 },
    },
  });
  const dead = await startHubServer({ root: hubRoot });
  deadUrl = dead.url;
  await dead.close();
});

afterAll(async () => {
  await new Promise((done) => staticServer.close(done));
  await hub?.close();
  await rm(staticRoot, { recursive: true, force: true });
  await rm(hubRoot, { recursive: true, force: true });
});

beforeEach(() => {
  staticBytes = 0;
  hub.requests.length = 0;
});

const client = (endpoints: string[], token?: string) => new HubClient({ endpoints, token, retryBaseMs: 1 });
const hubBytes = () => hub.requests.reduce((n, r) => n + r.bodyBytes, 0);

describe('describeRepo', () => {
  test.each([
    ['the static hub', () => staticUrl],
    ['a live hub', () => hub.url],
  ])('a model from %s: card fields, files with LFS hashes, README and where its files resolve', async (_, url) => {
    const endpoint = url();
    const details = await describeRepo(client([endpoint]), { hubs: [endpoint], repo: HF, kind: 'model' });
    expect(details).toMatchObject({ endpoint, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(details.info).toMatchObject({
      id: HF,
      kind: 'model',
      pipelineTag: 'text-generation',
      libraryName: 'transformers',
      gated: false,
      cardData: { license: 'mit', datasets: ['roneneldan/TinyStories'] },
    });
    expect(details.info.tags).toEqual(expect.arrayContaining(['llama', 'transformers', 'license:mit']));
    const weights = await readFile(join(STORIES_HF_DIR, 'model.safetensors'));
    expect(details.files.find((f) => f.path === 'model.safetensors')).toMatchObject({ size: weights.length, lfs: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(details.files.find((f) => f.path === 'config.json')).toMatchObject({ lfs: false });
    expect(details.readme).toBe(await readFile(join(STORIES_HF_DIR, 'README.md'), 'utf8'));
    expect(details.resolveBase).toBe(`${endpoint}/${HF}/resolve/${details.commit}/`);
    expect(await (await fetch(`${details.resolveBase}config.json`)).json()).toMatchObject({ hidden_size: 64 });
  });

  test.each([
    ['the static hub', () => staticUrl],
    ['a live hub', () => hub.url],
  ])('a Space from %s: sdk and card from its README, files under spaces/', async (_, url) => {
    const endpoint = url();
    const details = await describeRepo(client([endpoint]), { hubs: [endpoint], repo: SPACE, kind: 'space' });
    expect(details.info).toMatchObject({ id: SPACE, kind: 'space', sdk: 'static', cardData: { title: 'Hello', emoji: '👋' } });
    expect(details.readme).toBe(SPACE_README);
    expect(details.files.map((f) => f.path)).toEqual(['README.md', 'index.html']);
    expect(details.resolveBase).toBe(`${endpoint}/spaces/${SPACE}/resolve/${details.commit}/`);
    expect(await (await fetch(`${details.resolveBase}index.html`)).text()).toContain('hello');
  });

  test('a Space is not found as a model, nor a model as a Space; the next hub is asked first', async () => {
    await expectPocketHubError(describeRepo(client([staticUrl, hub.url]), { hubs: [], repo: SPACE, kind: 'model' }), 'MissingFileError');
    await expectPocketHubError(describeRepo(client([staticUrl, hub.url]), { hubs: [], repo: HF, kind: 'space' }), 'MissingFileError');
    const fromSecond = await describeRepo(client([staticUrl, hub.url]), { hubs: [], repo: QWEN, kind: 'model' });
    expect(fromSecond.endpoint).toBe(hub.url);
  });

  test('a live hub reports popularity and dates', async () => {
    const details = await describeRepo(client([hub.url]), { hubs: [], repo: QWEN, kind: 'model' });
    expect(details.info).toMatchObject({ downloads: 900, likes: 3, lastModified: '2024-01-01T00:00:00.000Z' });
  });

  test('a gated repo shows its info and files without a token, but no README; with a granted token, the README too', async () => {
    const anonymous = await describeRepo(client([hub.url]), { hubs: [], repo: GATED, kind: 'model' });
    expect(anonymous.info).toMatchObject({ gated: 'manual', cardData: { license: 'mit' } });
    expect(anonymous.files.map((f) => f.path)).toContain('model.safetensors');
    expect(anonymous.readme).toBe('');
    const granted = await describeRepo(client([hub.url], TOKEN), { hubs: [], repo: GATED, kind: 'model' });
    expect(granted.readme).toContain('# stories260K');
  });
});

describe('modelFacts', () => {
  /** What the engine itself reads from the same files when it loads them. */
  async function engineCount(path: string): Promise<number> {
    const opened = await openModel(await diskLocation(path));
    return opened.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
  }

  const stories = {
    architecture: 'llama',
    supported: true,
    layers: 5,
    hiddenSize: 64,
    intermediateSize: 172,
    heads: 8,
    kvHeads: 4,
    headDim: 8,
    vocabSize: 512,
    // 2 (K and V) × 5 layers × 4 KV heads × 8 dims × 4 bytes (f32 cache).
    // 5 layers × (K + V) × 4 heads × 8 dims × 2 bytes (the engine's default f16 cache).
    kvBytesPerToken: 640,
  } satisfies Partial<ModelFacts>;

  const servers = [
    ['the static hub', () => staticUrl, () => staticBytes],
    ['a live hub', () => hub.url, hubBytes],
  ] as const;

  test.each(servers)('safetensors from %s: the shape from config.json, the size from the header, a fraction of the file fetched', async (_, url, fetched) => {
    const facts = await modelFacts(client([url()]), { hubs: [], repo: HF, kind: 'model' });
    const parameters = await engineCount(STORIES_HF_DIR);
    const weights = (await readFile(join(STORIES_HF_DIR, 'model.safetensors'))).length;
    expect(facts).toMatchObject({ ...stories, format: 'safetensors', weightFiles: ['model.safetensors'], contextLength: 512, dtype: 'F32', parameters, hasChatTemplate: false });
    // Every tensor is uploaded (the embedding doubles as the output), each widened to f32.
    expect(facts.weightGpuBytes).toBe(parameters * 4);
    // The [512, 64] embedding is uploaded in row chunks, so the largest whole binding is an FFN matrix.
    expect(facts.largestBufferBytes).toBe(172 * 64 * 4);
    const configAndTokenizer = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
    let downloads = weights;
    for (const name of configAndTokenizer) downloads += (await readFile(join(STORIES_HF_DIR, name))).length;
    expect(facts.downloadBytes).toBe(downloads);
    expect(facts.ggufChoices).toBeUndefined();
    // The info, tree, config and tokenizer_config are a few KiB and the weights file is read
    // only as far as the 64 KiB read-ahead: about 66 KiB in all (6 % of the weights).
    expect(fetched()).toBeLessThan(weights / 10);
  });

  test.each(servers)('GGUF from %s: the shape from the metadata, the header read in a window and never the whole file', async (_, url, fetched) => {
    const facts = await modelFacts(client([url()]), { hubs: [], repo: GGUF, kind: 'model' });
    const parameters = await engineCount(STORIES_GGUF);
    const size = (await readFile(STORIES_GGUF)).length;
    expect(facts).toMatchObject({ ...stories, format: 'gguf', weightFiles: ['stories260K.gguf'], dtype: 'F32', parameters, downloadBytes: size });
    expect(facts.weightGpuBytes).toBe(parameters * 4);
    expect(facts.ggufChoices).toEqual([{ path: 'stories260K.gguf', quant: 'unknown', size }]);
    // readGguf's first window is 1 MiB (the header here is 14 KiB), which for this 1.1 MiB file
    // is most of it; the window bound is what is checked, and the next test shows it on a file
    // whose weights are far larger.
    expect(fetched()).toBeLessThan(2 ** 20 + 32 * 1024);
  });

  test('sharded BF16 safetensors: the index names the shards, each header read with a range request', async () => {
    const facts = await modelFacts(client([hub.url]), { hubs: [], repo: SHARDED, kind: 'model' });
    expect(facts).toMatchObject({
      ...stories,
      format: 'safetensors',
      weightFiles: ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
      dtype: 'BF16',
      parameters: await engineCount(STORIES_HF_DIR),
      hasChatTemplate: true,
    });
    // Stored as BF16 and kept 16-bit on the GPU; only the 11 norm vectors of 64 are widened to f32.
    expect(facts.weightGpuBytes).toBe(facts.parameters * 2 + 11 * 64 * 2);
    const ranges = hub.requests.filter((r) => r.path.startsWith('/cdn/'));
    expect(ranges).toHaveLength(2);
    for (const r of ranges) expect(r.headers.range).toMatch(/^bytes=0-\d+$/);
  });

  test('an architecture the engine does not run: the shape read leniently, the reason given', async () => {
    const facts = await modelFacts(client([hub.url]), { hubs: [], repo: QWEN, kind: 'model' });
    expect(facts).toMatchObject({
      architecture: 'mamba',
      supported: false,
      unsupported: expect.stringContaining('mamba'),
      layers: 2,
      hiddenSize: 32,
      heads: 4,
      kvHeads: 2,
      headDim: 8,
      contextLength: 4096,
      vocabSize: 16,
      dtype: 'BF16',
      parameters: 512,
      weightGpuBytes: 1024,
    });
  });

  test('a Llama with Llama 3 RoPE scaling runs', async () => {
    const facts = await modelFacts(client([hub.url]), { hubs: [], repo: ROPE, kind: 'model' });
    expect(facts).toMatchObject({ ...stories, supported: true });
  });

  test('a 16 MiB GGUF of another architecture: only the header window is fetched', async () => {
    const facts = await modelFacts(client([hub.url]), { hubs: [], repo: BERT, kind: 'model' });
    const size = (await readFile(join(hubRoot, BERT, 'bert-F32.gguf'))).length;
    expect(facts).toMatchObject({ architecture: 'bert', supported: false, unsupported: expect.stringContaining('bert'), layers: 3, hiddenSize: 1024, heads: 16, kvHeads: 16, headDim: 64 });
    expect(facts).toMatchObject({ parameters: 4096 * 1024, dtype: 'F32', downloadBytes: size });
    // readGguf's 1 MiB first window plus the info and tree answers.
    expect(hubBytes()).toBeLessThan(2 ** 20 + 32 * 1024);
  });

  test('a gated repo needs a token for its headers', async () => {
    await expectPocketHubError(modelFacts(client([hub.url]), { hubs: [], repo: GATED, kind: 'model' }), 'AuthRequiredError');
    const facts = await modelFacts(client([hub.url], TOKEN), { hubs: [], repo: GATED, kind: 'model' });
    expect(facts).toMatchObject({ supported: true, layers: 5 });
  });

  test('a Space has no model facts', async () => {
    await expectPocketHubError(modelFacts(client([hub.url]), { hubs: [], repo: SPACE, kind: 'space' }), 'InvalidArgumentError');
  });
});

describe('searchRepos', () => {
  const search = (hubs: string[], request: Omit<RepoSearch, 'hubs'>) => searchRepos(client(hubs), { hubs, ...request });
  const ids = (listing: { info: { id: string } }[]) => listing.map((l) => l.info.id);

  test('models across a static hub, a dead one and a live one: each hub in turn, an id only from the first hub that has it', async () => {
    const listing = await search([staticUrl, deadUrl, hub.url], { kind: 'model', sort: 'downloads' });
    expect(ids(listing)).toEqual([HF, GGUF, QWEN, SHARDED, BERT, GATED]);
    expect(listing.map((l) => l.endpoint)).toEqual([staticUrl, staticUrl, hub.url, hub.url, hub.url, hub.url]);
    expect(listing[0].info).toMatchObject({ kind: 'model', pipelineTag: 'text-generation', cardData: { license: 'mit' } });
    // The live hub was asked with the Hub API's own parameters; the static one was read from index.json.
    const asked = new URL(hub.requests.find((r) => r.path.startsWith('/api/models?'))!.path, hub.url).searchParams;
    expect(Object.fromEntries(asked)).toEqual({ pipeline_tag: 'text-generation', sort: 'downloads', direction: '-1', limit: '20', cardData: 'true' });
  });

  test('search words, library and limit, on both kinds of hub', async () => {
    expect(ids(await search([staticUrl, hub.url], { kind: 'model', library: 'gguf' }))).toEqual([GGUF, BERT]);
    expect(ids(await search([staticUrl, hub.url], { kind: 'model', search: 'STORIES gguf' }))).toEqual([GGUF]);
    expect(ids(await search([staticUrl, hub.url], { kind: 'model', library: 'transformers', sort: 'likes', limit: 2 }))).toEqual([HF, QWEN, SHARDED]);
    // The gated repo has no date of its own in the stats, so its folder's (today) comes first.
    expect(ids(await search([hub.url], { kind: 'model', sort: 'lastModified', search: 'test' }))).toEqual([GATED, BERT, SHARDED, QWEN]);
  });

  test('Spaces: the static hub first, then the live hub by likes (Spaces have no download count)', async () => {
    const listing = await search([staticUrl, hub.url], { kind: 'space', sort: 'downloads' });
    expect(ids(listing)).toEqual([SPACE, 'test/gradio-space', 'test/chat-space']);
    expect(listing.map((l) => l.info.sdk)).toEqual(['static', 'gradio', 'chat']);
    const asked = new URL(hub.requests.find((r) => r.path.startsWith('/api/spaces?'))!.path, hub.url).searchParams;
    expect(Object.fromEntries(asked)).toMatchObject({ sort: 'likes', full: 'true' });
  });

  test('a hub that fails is skipped; when every hub fails, the first failure is thrown', async () => {
    hub.faults.add({ kind: 'status', status: 500, match: '/api/models?', times: 10 });
    try {
      expect(ids(await search([staticUrl, hub.url], { kind: 'model' }))).toEqual([HF, GGUF]);
      const err = await expectPocketHubError(search([deadUrl, hub.url], { kind: 'model' }), 'NetworkError');
      expect(err.message).toContain(`Cannot reach ${deadUrl}`);
    } finally {
      hub.faults.clear();
    }
  });
});
