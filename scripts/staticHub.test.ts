import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HubClient } from '../src/hub/client.ts';
import { chooseFiles } from '../src/hub/files.ts';
import { EMBEDDED_HUB, STORIES_GGUF, STORIES_HF_DIR } from '../test/embedded.ts';
import { startHubServer, type HubServer } from '../test/hubServer.ts';
import { buildStaticHub, frontMatter, staticHubHandler, type StaticHubIndex } from './staticHub.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function listen(server: Server): Promise<string> {
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

let files: Map<string, Uint8Array>;
let origin: string;
let server: Server;
// Another hub after the embedded one, holding a repo the embedded hub lacks.
let remote: HubServer;
let remoteRoot: string;

beforeAll(async () => {
  files = await buildStaticHub(EMBEDDED_HUB);
  // What a static host does with the built files: GET them, 404 for the rest.
  server = createServer((req, res) => void staticHubHandler(async () => files)(req, res, () => res.writeHead(404).end()));
  origin = await listen(server);
  remoteRoot = await mkdtemp(join(tmpdir(), 'static-hub-remote-'));
  await cp(STORIES_HF_DIR, join(remoteRoot, 'elsewhere', 'stories'), { recursive: true });
  remote = await startHubServer({ root: remoteRoot });
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
  await remote.close();
  await rm(remoteRoot, { recursive: true, force: true });
});

describe('the embedded hub, read by the same client as huggingface.co', () => {
  test('a repo resolves to one commit, with sizes and the sha256 of each weight file', async () => {
    const client = new HubClient({ endpoints: [`${origin}/hub`] });
    const resolved = await client.resolveRepo('pocket-hub/stories260K-GGUF');
    expect(resolved.commit).toMatch(/^[0-9a-f]{40}$/);
    const gguf = await readFile(STORIES_GGUF);
    expect(resolved.files.find((f) => f.path === 'stories260K.gguf')).toMatchObject({ size: gguf.length, sha256: sha256(gguf) });
    expect(chooseFiles(resolved.files)).toMatchObject({ kind: 'gguf', file: { path: 'stories260K.gguf' } });

    const res = await client.fetchFile(resolved, 'stories260K.gguf', { start: 1000 });
    expect(res.status).toBe(206);
    expect(Buffer.compare(new Uint8Array(await res.arrayBuffer()), gguf.subarray(1000))).toBe(0);
  });

  test('the HF-format repo lists config, tokenizer and safetensors', async () => {
    const client = new HubClient({ endpoints: [`${origin}/hub`] });
    const resolved = await client.resolveRepo('pocket-hub/stories260K');
    const choice = chooseFiles(resolved.files);
    expect(choice.kind === 'safetensors' && choice.files.map((f) => f.path)).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']);
    const config = await client.fetchFile(resolved, 'config.json');
    expect(await config.json()).toMatchObject({ model_type: 'llama', hidden_size: 64 });
  });

  test('the commit is a hash of the contents: the same files give the same commit, a change gives another', async () => {
    const again = await buildStaticHub(EMBEDDED_HUB);
    const info = (hub: Map<string, Uint8Array>) => JSON.parse(new TextDecoder().decode(hub.get('api/models/pocket-hub/stories260K/revision/main'))) as { sha: string };
    expect(info(again).sha).toBe(info(files).sha);

    const copy = await mkdtemp(join(tmpdir(), 'static-hub-copy-'));
    try {
      await cp(EMBEDDED_HUB, copy, { recursive: true });
      await cp(STORIES_GGUF, join(copy, 'models', 'pocket-hub', 'stories260K', 'extra.gguf'));
      expect(info(await buildStaticHub(copy)).sha).not.toBe(info(files).sha);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  test('a repo the embedded hub lacks comes from the next endpoint', async () => {
    const client = new HubClient({ endpoints: [`${origin}/hub`, remote.url] });
    const resolved = await client.resolveRepo('elsewhere/stories');
    expect(resolved.endpoint).toBe(remote.url);
  });

  test('a host that answers every path with an HTML page is skipped, not parsed as a hub', async () => {
    const spa = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>'));
    const spaOrigin = await listen(spa);
    try {
      const client = new HubClient({ endpoints: [spaOrigin, remote.url] });
      expect((await client.resolveRepo('elsewhere/stories')).endpoint).toBe(remote.url);
    } finally {
      await new Promise((done) => spa.close(done));
    }
  });

  test('index.json lists every repo with its card data, for listings a static host cannot search', () => {
    const index = JSON.parse(new TextDecoder().decode(files.get('index.json'))) as StaticHubIndex;
    expect(index.models.map((m) => m.id).sort()).toEqual(['pocket-hub/stories260K', 'pocket-hub/stories260K-GGUF']);
    const gguf = index.models.find((m) => m.id === 'pocket-hub/stories260K-GGUF')!;
    expect(gguf).toMatchObject({ pipeline_tag: 'text-generation', cardData: { license: 'mit', base_model: 'pocket-hub/stories260K' } });
    expect(gguf.tags).toContain('license:mit');
  });
});

test('front matter: parsed when present, empty when absent or broken', () => {
  expect(frontMatter('---\nlicense: mit\ntags: [a, b]\n---\n# Card')).toEqual({ license: 'mit', tags: ['a', 'b'] });
  expect(frontMatter('# No metadata\n---\nlicense: mit\n---\n')).toEqual({});
  expect(frontMatter('---\nlicense: [unclosed\n---\n')).toEqual({});
  expect(frontMatter('---\n- a list\n---\n')).toEqual({});
});
