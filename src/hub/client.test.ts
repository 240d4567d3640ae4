import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../engine/formats/safetensorsWriter.ts';
import { gitBlobOid, repoCommit, startHubServer, type HubServer } from '../../test/hubServer.ts';
import { HubClient, type HubOptions, type ResolvedRepo } from './client.ts';
import { chooseFiles } from './files.ts';
import { copyStoriesRepo, STORIES_HF_DIR } from '../../test/embedded.ts';

const REPO = 'pocket-hub/stories260K';
const SHARDED = 'pocket-hub/sharded';
const GATED = 'pocket-hub/gated';
const SPACE = 'pocket-hub/demo';
const GOOD_TOKEN = 'hf_granted';
// A second commit of REPO whose config differs, standing in for a push to main.
const NEXT_COMMIT = createHash('sha1').update('next commit').digest('hex');

let root: string;
let emptyRoot: string;
let hub: HubServer;
let deadUrl: string;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const body = async (res: Response) => new Uint8Array(await res.arrayBuffer());

function client(options: Partial<HubOptions> = {}): HubClient {
  // Short backoff: the retry tests wait for it, and the Retry-After tests override it anyway.
  return new HubClient({ endpoints: [hub.url], retryBaseMs: 10, ...options });
}

function requestsTo(fragment: string) {
  return hub.requests.filter((r) => r.path.includes(fragment));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hub-'));
  emptyRoot = await mkdtemp(join(tmpdir(), 'hub-empty-'));
  const repoDir = join(root, REPO);
  await copyStoriesRepo(repoDir);
  const nextDir = join(root, `${REPO}@${NEXT_COMMIT}`);
  await cp(repoDir, nextDir, { recursive: true });
  await writeFile(join(nextDir, 'config.json'), JSON.stringify({ model_type: 'llama', note: 'next commit' }));

  const shardedDir = join(root, SHARDED);
  await mkdir(join(shardedDir, 'docs'), { recursive: true });
  const weight = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i));
  const shards = {
    'model-00001-of-00002.safetensors': [{ name: 'model.embed_tokens.weight', dtype: 'F32' as const, shape: [4, 8], data: weight(32, 1) }],
    'model-00002-of-00002.safetensors': [{ name: 'lm_head.weight', dtype: 'F16' as const, shape: [8, 4], data: weight(32, 2) }],
  };
  const weightMap: Record<string, string> = {};
  for (const [name, tensors] of Object.entries(shards)) {
    await writeFile(join(shardedDir, name), writeSafetensors(tensors));
    for (const t of tensors) weightMap[t.name] = name;
  }
  await writeFile(join(shardedDir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 192 }, weight_map: weightMap }));
  await cp(join(STORIES_HF_DIR, 'config.json'), join(shardedDir, 'config.json'));
  await cp(join(STORIES_HF_DIR, 'tokenizer.json'), join(shardedDir, 'tokenizer.json'));
  await writeFile(join(shardedDir, 'docs', 'notes.md'), 'nested file\n');

  const spaceDir = join(root, 'spaces', SPACE);
  await mkdir(spaceDir, { recursive: true });
  await writeFile(join(spaceDir, 'README.md'), '---\ntitle: Demo\nsdk: static\n---\n');
  await writeFile(join(spaceDir, 'index.html'), '<!doctype html><p>demo</p>');

  const gatedDir = join(root, GATED);
  await mkdir(gatedDir, { recursive: true });
  await cp(join(STORIES_HF_DIR, 'config.json'), join(gatedDir, 'config.json'));
  await cp(join(STORIES_HF_DIR, 'model.safetensors'), join(gatedDir, 'model.safetensors'));

  // cdnHost 'localhost' puts the CDN on another origin than 127.0.0.1, as huggingface.co's
  // CDN is, so the test sees what fetch does with the token on the redirect.
  hub = await startHubServer({ root, treePageSize: 2, gated: { [GATED]: [GOOD_TOKEN] }, cdnHost: 'localhost' });
  const dead = await startHubServer({ root: emptyRoot });
  deadUrl = dead.url;
  await dead.close();
});

afterEach(() => {
  hub.faults.clear();
  hub.requests.length = 0;
});

afterAll(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
  await rm(emptyRoot, { recursive: true, force: true });
});

describe('resolveRepo', () => {
  it('lists the whole tree across Link pages, with sizes, blob oids and LFS sha256, at one commit', async () => {
    const resolved = await client().resolveRepo(REPO);
    const commit = repoCommit(REPO);
    expect(resolved).toMatchObject({ repo: REPO, commit, endpoint: hub.url });
    const onDisk = async (name: string) => new Uint8Array(await readFile(join(root, REPO, name)));
    const config = await onDisk('config.json');
    const weights = await onDisk('model.safetensors');
    expect(resolved.files.map((f) => f.path)).toEqual([
      'LICENSE',
      'README.md',
      'config.json',
      'model.safetensors',
      'stories260K.gguf',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(resolved.files.find((f) => f.path === 'config.json')).toEqual({ path: 'config.json', size: config.length, oid: gitBlobOid(config) });
    expect(resolved.files.find((f) => f.path === 'model.safetensors')).toMatchObject({ size: weights.length, sha256: sha256(weights) });
    // Seven files at two per page: four tree pages, each asked at the commit, not at 'main'.
    const trees = requestsTo('/tree/');
    expect(trees).toHaveLength(4);
    for (const t of trees) expect(t.path).toContain(`/tree/${commit}?`);
  });

  it('lists nested files and skips directory entries', async () => {
    const resolved = await client().resolveRepo(SHARDED);
    expect(resolved.files.map((f) => f.path)).toContain('docs/notes.md');
    expect(resolved.files.map((f) => f.path)).not.toContain('docs');
  });

  it('keeps serving the resolved commit after main moves', async () => {
    const hubClient = client();
    const before = await hubClient.resolveRepo(REPO);
    hub.setBranch(REPO, 'main', NEXT_COMMIT);
    try {
      const pinned = JSON.parse(await (await hubClient.fetchFile(before, 'config.json')).text());
      expect(pinned.note).toBeUndefined();
      const after = await hubClient.resolveRepo(REPO);
      expect(after.commit).toBe(NEXT_COMMIT);
      expect(JSON.parse(await (await hubClient.fetchFile(after, 'config.json')).text()).note).toBe('next commit');
    } finally {
      hub.setBranch(REPO, 'main', repoCommit(REPO));
    }
    const byCommit = await hubClient.resolveRepo(REPO, NEXT_COMMIT);
    expect(byCommit.commit).toBe(NEXT_COMMIT);
  });

  it('reports a missing repo or revision with the hub error code', async () => {
    await expect(client().resolveRepo('pocket-hub/none')).rejects.toMatchObject({ name: 'MissingFileError', message: expect.stringMatching(/^RepoNotFound/) });
    await expect(client().resolveRepo(REPO, 'no-such-branch')).rejects.toMatchObject({ name: 'MissingFileError', message: expect.stringMatching(/^RevisionNotFound/) });
  });
});

describe('endpoints', () => {
  it('moves on to the next endpoint when the first is down, and downloads from the one that answered', async () => {
    const hubClient = client({ endpoints: [deadUrl, hub.url] });
    const resolved = await hubClient.resolveRepo(REPO);
    expect(resolved.endpoint).toBe(hub.url);
    expect(hubClient.fileUrl(resolved, 'config.json')).toBe(`${hub.url}/${REPO}/resolve/${resolved.commit}/config.json`);
  });

  it('moves on when the first endpoint lacks the repo', async () => {
    const mirror = await startHubServer({ root: emptyRoot });
    try {
      const resolved = await client({ endpoints: [mirror.url, hub.url] }).resolveRepo(REPO);
      expect(resolved.endpoint).toBe(hub.url);
      expect(mirror.requests).toHaveLength(1);
    } finally {
      await mirror.close();
    }
  });

  it('is OfflineError when no endpoint can be reached', async () => {
    await expect(client({ endpoints: [deadUrl, `${deadUrl}/`] }).resolveRepo(REPO)).rejects.toMatchObject({ name: 'OfflineError' });
  });
});

describe('Spaces and the info answer', () => {
  it('resolves a Space under /api/spaces, keeps the info answer, and names its files under spaces/', async () => {
    const hubClient = client();
    const resolved = await hubClient.resolveRepo(SPACE, 'main', undefined, 'space');
    expect(resolved).toMatchObject({ repo: SPACE, kind: 'space', commit: repoCommit(`spaces/${SPACE}`) });
    expect(resolved.info).toMatchObject({ id: SPACE, sha: resolved.commit, sdk: 'static', cardData: { title: 'Demo' } });
    expect(resolved.files.map((f) => f.path)).toEqual(['README.md', 'index.html']);
    expect(hubClient.fileUrl(resolved, 'index.html')).toBe(`${hub.url}/spaces/${SPACE}/resolve/${resolved.commit}/index.html`);
    expect(await (await hubClient.fetchFile(resolved, 'index.html')).text()).toContain('demo');
    expect(requestsTo(`/api/spaces/${SPACE}/revision/main`)).toHaveLength(1);
  });

  it('does not find a Space among models, nor a model among Spaces', async () => {
    await expect(client().resolveRepo(SPACE)).rejects.toMatchObject({ name: 'MissingFileError', message: expect.stringMatching(/^RepoNotFound/) });
    await expect(client().resolveRepo(REPO, 'main', undefined, 'space')).rejects.toMatchObject({ name: 'MissingFileError' });
  });

  it('reads JSON from its own endpoints only, and calls a host that answers HTML no hub', async () => {
    await expect(client().getJson('http://elsewhere.invalid', 'api/models', 'models')).rejects.toThrow(RangeError);
    await expect(client().getJson(hub.url, 'api/models?search=stories', 'models')).resolves.toEqual([expect.objectContaining({ id: REPO })]);
    const html: typeof fetch = async () => new Response('<!doctype html>', { headers: { 'Content-Type': 'text/html' } });
    await expect(client({ fetch: html }).getJson(hub.url, 'index.json', 'index.json')).rejects.toMatchObject({ name: 'NetworkError', message: expect.stringContaining('not a hub') });
  });
});

describe('fetchRange', () => {
  let resolved: ResolvedRepo;
  let weights: Uint8Array;
  beforeAll(async () => {
    resolved = await client().resolveRepo(REPO);
    weights = new Uint8Array(await readFile(join(root, REPO, 'model.safetensors')));
  });

  it('gets exactly the bytes asked for through the CDN redirect, with one bounded Range', async () => {
    const bytes = await client().fetchRange(resolved, 'model.safetensors', 100_000, 5000);
    expect(sha256(bytes)).toBe(sha256(weights.subarray(100_000, 105_000)));
    const cdn = requestsTo('/cdn/');
    expect(cdn).toHaveLength(1);
    expect(cdn[0]).toMatchObject({ headers: expect.objectContaining({ range: 'bytes=100000-104999' }), bodyBytes: 5000 });
  });

  it('reads the asked-for bytes out of a full answer from a server that ignores Range', async () => {
    const stripRange: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('Range');
      return fetch(input, { ...init, headers });
    };
    const bytes = await client({ fetch: stripRange }).fetchRange(resolved, 'model.safetensors', 70_000, 24);
    expect([...bytes]).toEqual([...weights.subarray(70_000, 70_024)]);
  });

  it('asks for nothing when nothing is wanted, and is MissingFileError past the end of the file', async () => {
    expect(await client().fetchRange(resolved, 'model.safetensors', 5, 0)).toHaveLength(0);
    expect(hub.requests).toHaveLength(0);
    await expect(client().fetchRange(resolved, 'model.safetensors', weights.length, 10)).rejects.toMatchObject({ name: 'MissingFileError', message: expect.stringContaining('past the end') });
  });
});

describe('fetchFile', () => {
  let resolved: ResolvedRepo;
  let weights: Uint8Array;
  beforeAll(async () => {
    resolved = await client().resolveRepo(REPO);
    weights = new Uint8Array(await readFile(join(root, REPO, 'model.safetensors')));
  });

  it('follows the LFS redirect to the CDN and gets the bytes the tree hashed', async () => {
    const res = await client().fetchFile(resolved, 'model.safetensors');
    expect(res.status).toBe(200);
    expect(sha256(await body(res))).toBe(resolved.files.find((f) => f.path === 'model.safetensors')?.sha256);
    expect(requestsTo('/cdn/')).toHaveLength(1);
  });

  it('resumes from a byte offset with a 206 and Content-Range', async () => {
    const start = 700_001;
    const res = await client().fetchFile(resolved, 'model.safetensors', { start });
    expect(res.status).toBe(206);
    expect(res.headers.get('Content-Range')).toBe(`bytes ${start}-${weights.length - 1}/${weights.length}`);
    // Compared by hash: a deep toEqual over a megabyte of elements takes seconds.
    expect(sha256(await body(res))).toBe(sha256(weights.subarray(start)));
  });

  it('refuses a full answer to a ranged request', async () => {
    const stripRange: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('Range');
      return fetch(input, { ...init, headers });
    };
    await expect(client({ fetch: stripRange }).fetchFile(resolved, 'model.safetensors', { start: 10 })).rejects.toMatchObject({
      name: 'NetworkError',
      message: expect.stringContaining('ignored'),
    });
  });

  it('is MissingFileError with EntryNotFound for a file the commit lacks', async () => {
    await expect(client().fetchFile(resolved, 'missing.bin')).rejects.toMatchObject({ name: 'MissingFileError', message: expect.stringMatching(/^EntryNotFound/) });
  });

  it('downloads a sharded repo: the index names the shards chooseFiles keeps', async () => {
    const hubClient = client();
    const sharded = await hubClient.resolveRepo(SHARDED);
    const index = await (await hubClient.fetchFile(sharded, 'model.safetensors.index.json')).json();
    const choice = chooseFiles(sharded.files, { index });
    expect(choice.kind === 'safetensors' && choice.files.map((f) => f.path)).toEqual([
      'config.json',
      'tokenizer.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    for (const f of choice.kind === 'safetensors' ? choice.files : []) {
      const bytes = await body(await hubClient.fetchFile(sharded, f.path));
      expect(bytes.length).toBe(f.size);
      if (f.sha256) expect(sha256(bytes)).toBe(f.sha256);
      else expect(gitBlobOid(bytes)).toBe(f.oid);
    }
  });
});

describe('gated repos and tokens', () => {
  it('is AuthRequiredError without a token (401) and with a token not granted (403)', async () => {
    const resolved = await client().resolveRepo(GATED);
    await expect(client().fetchFile(resolved, 'config.json')).rejects.toMatchObject({ name: 'AuthRequiredError', message: expect.stringContaining('HTTP 401') });
    await expect(client({ token: 'hf_other' }).fetchFile(resolved, 'config.json')).rejects.toMatchObject({
      name: 'AuthRequiredError',
      message: expect.stringContaining('HTTP 403'),
    });
  });

  it('downloads with a granted token, which reaches the hub but not the CDN on another origin', async () => {
    const hubClient = client({ token: GOOD_TOKEN });
    const resolved = await hubClient.resolveRepo(GATED);
    const weights = new Uint8Array(await readFile(join(root, GATED, 'model.safetensors')));
    expect(sha256(await body(await hubClient.fetchFile(resolved, 'model.safetensors')))).toBe(sha256(weights));
    for (const r of requestsTo(`/${GATED}/`)) expect(r.headers.authorization).toBe(`Bearer ${GOOD_TOKEN}`);
    const cdn = requestsTo('/cdn/');
    expect(cdn).toHaveLength(1);
    expect(cdn[0].headers.host).toMatch(/^localhost:/);
    expect(cdn[0].headers.authorization).toBeUndefined();
  });

  it('never sends the token to a public endpoint, such as the app\'s embedded hub', async () => {
    const hubClient = client({ token: GOOD_TOKEN, publicEndpoints: [hub.url] });
    const resolved = await hubClient.resolveRepo(REPO);
    await body(await hubClient.fetchFile(resolved, 'config.json'));
    const seen = hub.requests.filter((r) => r.path.includes(REPO));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const r of seen) expect(r.headers.authorization).toBeUndefined();
  });
});

describe('retries', () => {
  it('waits out a 429 Retry-After, then succeeds', async () => {
    hub.faults.add({ kind: 'status', status: 429, retryAfter: 1, match: '/api/models/' });
    const started = Date.now();
    await client({ retryBaseMs: 0 }).resolveRepo(REPO);
    // A lower bound, not a timing measurement: the client must not retry before the server
    // allowed it. 50 ms of slack for timer rounding.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(requestsTo('/revision/main')).toHaveLength(2);
  });

  it('is RateLimitedError once the retries run out', async () => {
    hub.faults.add({ kind: 'status', status: 429, retryAfter: 0, match: '/api/models/', times: 10 });
    await expect(client({ maxRetries: 2 }).resolveRepo(REPO)).rejects.toMatchObject({ name: 'RateLimitedError' });
    expect(requestsTo('/revision/main')).toHaveLength(3);
  });

  it('retries a 500 with backoff, before any body byte', async () => {
    const resolved = await client().resolveRepo(REPO);
    hub.faults.add({ kind: 'status', status: 500, match: '/resolve/', times: 2 });
    const res = await client().fetchFile(resolved, 'config.json');
    expect(JSON.parse(await res.text())).toHaveProperty('model_type');
    expect(requestsTo('/resolve/')).toHaveLength(3);
  });

  it('turns a 500 that does not go away into NetworkError', async () => {
    const resolved = await client().resolveRepo(REPO);
    hub.faults.add({ kind: 'status', status: 500, match: '/resolve/', times: 10 });
    await expect(client({ maxRetries: 1 }).fetchFile(resolved, 'config.json')).rejects.toMatchObject({ name: 'NetworkError', message: expect.stringContaining('HTTP 500') });
  });
});

describe('fault injection', () => {
  let resolved: ResolvedRepo;
  let weights: Uint8Array;
  beforeAll(async () => {
    resolved = await client().resolveRepo(REPO);
    weights = new Uint8Array(await readFile(join(root, REPO, 'model.safetensors')));
  });

  it('a connection dropped mid-body is a NetworkError, and the rest resumes from the bytes received', async () => {
    const afterBytes = 300_000;
    hub.faults.add({ kind: 'drop', afterBytes, match: '/cdn/' });
    const hubClient = client();
    const reader = (await hubClient.fetchFile(resolved, 'model.safetensors')).body!.getReader();
    const parts: Uint8Array[] = [];
    let received = 0;
    const failure = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        parts.push(value);
        received += value.length;
      }
    })().catch((err: unknown) => err);
    expect(failure).toMatchObject({ name: 'NetworkError', message: expect.stringContaining('Connection') });
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(afterBytes);
    parts.push(await body(await hubClient.fetchFile(resolved, 'model.safetensors', { start: received })));
    const whole = new Uint8Array(weights.length);
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.length;
    }
    expect(at).toBe(weights.length);
    expect(sha256(whole)).toBe(sha256(weights));
  });

  it('corrupts the bytes at the offsets asked for, and only those', async () => {
    const offsets = [0, 65_536, 1_000_000];
    hub.faults.add({ kind: 'corrupt', offsets, match: '/cdn/' });
    const bytes = await body(await client().fetchFile(resolved, 'model.safetensors'));
    expect(bytes.length).toBe(weights.length);
    const differ = [];
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== weights[i]) differ.push(i);
    expect(differ).toEqual(offsets);
  });

  it('an abort during a slow body ends the read with AbortError', async () => {
    hub.faults.add({ kind: 'slow', delayMs: 200, match: '/cdn/' });
    const controller = new AbortController();
    const reader = (await client().fetchFile(resolved, 'model.safetensors', { signal: controller.signal })).body!.getReader();
    await reader.read();
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a reset connection on the only endpoint is OfflineError', async () => {
    hub.faults.add({ kind: 'reset', match: '/api/models/' });
    await expect(client().resolveRepo(REPO)).rejects.toMatchObject({ name: 'OfflineError' });
  });
});

describe('hub server headers', () => {
  it('answers a resolve like huggingface.co: commit, blob ETag, LFS redirect with linked etag and size, CORS', async () => {
    const resolved = await client().resolveRepo(REPO);
    const weights = resolved.files.find((f) => f.path === 'model.safetensors')!;
    const config = resolved.files.find((f) => f.path === 'config.json')!;
    const hubClient = client();
    const lfs = await fetch(hubClient.fileUrl(resolved, weights.path), { redirect: 'manual', headers: { Origin: 'http://app.test' } });
    expect(lfs.status).toBe(302);
    expect(lfs.headers.get('Location')).toBe(`http://localhost:${new URL(hub.url).port}/cdn/${weights.sha256}`);
    expect(lfs.headers.get('X-Repo-Commit')).toBe(resolved.commit);
    expect(lfs.headers.get('X-Linked-Etag')).toBe(`"${weights.sha256}"`);
    expect(lfs.headers.get('X-Linked-Size')).toBe(String(weights.size));
    expect(lfs.headers.get('ETag')).toBe(`"${weights.oid}"`);
    expect(lfs.headers.get('Access-Control-Allow-Origin')).toBe('http://app.test');
    const exposed = lfs.headers.get('Access-Control-Expose-Headers')!.toLowerCase().split(',');
    for (const h of ['x-repo-commit', 'x-linked-etag', 'x-linked-size', 'etag', 'content-range', 'link', 'x-error-code', 'accept-ranges']) {
      expect(exposed).toContain(h);
    }
    const small = await fetch(hubClient.fileUrl(resolved, config.path), { method: 'HEAD' });
    expect(small.status).toBe(200);
    expect(small.headers.get('ETag')).toBe(`"${config.oid}"`);
    expect(small.headers.get('Accept-Ranges')).toBe('bytes');
    expect(small.headers.get('Content-Length')).toBe(String(config.size));
    const probe = await fetch(hubClient.fileUrl(resolved, config.path), { headers: { Range: 'bytes=0-0' } });
    expect(probe.status).toBe(206);
    expect(probe.headers.get('Content-Range')).toBe(`bytes 0-0/${config.size}`);
    expect((await body(probe)).length).toBe(1);
    const past = await fetch(hubClient.fileUrl(resolved, config.path), { headers: { Range: `bytes=${config.size}-` } });
    expect(past.status).toBe(416);
    await past.body?.cancel();
  });

  it('answers a CORS preflight for Authorization and Range', async () => {
    const res = await fetch(`${hub.url}/api/models/${REPO}`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://app.test', 'Access-Control-Request-Headers': 'authorization,range' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Headers')).toMatch(/Authorization/);
    expect(res.headers.get('Access-Control-Allow-Headers')).toMatch(/Range/);
  });
});
