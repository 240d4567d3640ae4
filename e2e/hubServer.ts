// A local hub for the e2e tests: stories260K (the embedded model's files) as HUB_REPO and as
// the gated GATED_REPO on HUB_PORT, and on HUB_CONTROL_PORT a small API the tests use to inject
// faults and read what reached the hub. Started by playwright.config.ts.
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubServer, type FaultRule } from '../test/hubServer.ts';
import { copyStoriesRepo } from '../test/embedded.ts';

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

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'pocket-hub-e2e-hub-'));
  for (const repo of [HUB_REPO, GATED_REPO]) await copyStoriesRepo(join(root, repo));
  const hub = await startHubServer({ root, port: HUB_PORT, gated: { [GATED_REPO]: [GATED_TOKEN] }, cdnHost: CDN_HOST });

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
