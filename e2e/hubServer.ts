// A local hub for the e2e tests: stories260K (the embedded model's files) as HUB_REPO and as
// the gated GATED_REPO on HUB_PORT, and on HUB_CONTROL_PORT a small API the tests use to inject
// faults and read what reached the hub; on HOSTILE_HUB_PORT the XSS corpus's repos. Started by
// playwright.config.ts.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubServer, type FaultRule } from '../test/hubServer.ts';
import { copyStoriesRepo } from '../test/embedded.ts';
import {
  HOSTILE_HUB_PORT,
  HOSTILE_MODEL,
  HOSTILE_MODEL_ID,
  HOSTILE_MODEL_ID_README,
  HOSTILE_MODEL_README,
  HOSTILE_SPACE,
  HOSTILE_SPACE_ID,
  HOSTILE_SPACE_README,
  HOSTILE_STATIC_SPACE,
  HOSTILE_STATIC_SPACE_README,
  STATIC_SPACE_HTML,
} from './xssCorpus.ts';
import { SMOL_CHAT_MODEL, writeSmolChatStandIn } from './smolChatStandIn.ts';

export const HUB_PORT = 4175;
export const HUB_CONTROL_PORT = 4176;
// Not pocket-hub/…: the app's embedded hub is asked first and has those.
export const HUB_REPO = 'test-hub/stories260K';
/** Answers 401 without a token and 403 with any token but GATED_TOKEN, as a gated Hub repo does. */
export const GATED_REPO = 'test-hub/stories260K-gated';
export const GATED_TOKEN = 'hf_e2eGrantedReadToken';
/**
 * The tests reach the hub as localhost; its LFS redirects point at 127.0.0.1, another origin on
 * the same server, as huggingface.co's point at its CDN, so fetch has to drop the token there.
 */
export const CDN_HOST = '127.0.0.1';

/**
 * The XSS corpus (xssCorpus.ts) as repos on a hub of their own, so that no other spec's listing
 * sees them: a model with weights (its page renders in full), Spaces, and ids that are payloads.
 */
async function startHostileHub(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'pocket-hub-e2e-hostile-'));
  const repo = async (path: string, files: Record<string, string>) => {
    await mkdir(join(root, path), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(root, path, name), text);
  };
  await copyStoriesRepo(join(root, HOSTILE_MODEL));
  await repo(HOSTILE_MODEL, { 'README.md': HOSTILE_MODEL_README });
  await repo(HOSTILE_MODEL_ID, { 'README.md': HOSTILE_MODEL_ID_README });
  await repo(`spaces/${HOSTILE_SPACE}`, { 'README.md': HOSTILE_SPACE_README });
  await repo(`spaces/${HOSTILE_SPACE_ID}`, { 'README.md': '---\nsdk: completion\n---\n' });
  await repo(`spaces/${HOSTILE_STATIC_SPACE}`, { 'README.md': HOSTILE_STATIC_SPACE_README, 'index.html': STATIC_SPACE_HTML });
  await startHubServer({ root, port: HOSTILE_HUB_PORT });
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'pocket-hub-e2e-hub-'));
  for (const repo of [HUB_REPO, GATED_REPO]) await copyStoriesRepo(join(root, repo));
  // The chat Space's model, which smolChat.spec.ts serves in huggingface.co's place.
  await writeSmolChatStandIn(join(root, SMOL_CHAT_MODEL));
  const hub = await startHubServer({ root, port: HUB_PORT, gated: { [GATED_REPO]: [GATED_TOKEN] }, cdnHost: CDN_HOST });
  await startHostileHub();

  // GET /requests: paths the hub received; GET /requests/detail: each one's method, path and
  // headers; POST /faults: a FaultRule; GET /faults: those not used up; DELETE /faults.
  const control = createServer(async (req, res) => {
    const json = (body: unknown) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (req.url === '/requests') return json(hub.requests.map((r) => r.path));
    if (req.url === '/requests/detail') return json(hub.requests);
    if (req.url === '/faults' && req.method === 'GET') return json(hub.faults.pending);
    if (req.url === '/faults' && req.method === 'DELETE') return json(hub.faults.clear());
    if (req.url === '/faults' && req.method === 'POST') {
      let body = '';
      for await (const piece of req) body += String(piece);
      hub.faults.add(JSON.parse(body) as FaultRule);
      return json(hub.faults.pending);
    }
    if (req.url === '/') return json({ hub: hub.url });
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((ready) => control.listen(HUB_CONTROL_PORT, '127.0.0.1', ready));
  console.log(`hub at ${hub.url}, control on ${HUB_CONTROL_PORT}`);
}

// The spec imports the constants above; only running the file starts the servers.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
