// A local hub for the e2e tests: repo pocket-hub/stories260K (the bundled model's files) on
// HUB_PORT, and on HUB_CONTROL_PORT a small API the tests use to inject faults and read what
// reached the hub. Started by playwright.config.ts.
import { cp, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubServer, type FaultRule } from '../test/hubServer.ts';

export const HUB_PORT = 4175;
export const HUB_CONTROL_PORT = 4176;
export const HUB_REPO = 'pocket-hub/stories260K';

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'pocket-hub-e2e-hub-'));
  const models = join(import.meta.dirname, '..', 'public', 'models', 'stories260K');
  await cp(models, join(root, HUB_REPO), { recursive: true });
  const hub = await startHubServer({ root, port: HUB_PORT });

  // GET /requests: paths the hub received; POST /faults: a FaultRule; GET /faults: those not used up; DELETE /faults.
  const control = createServer(async (req, res) => {
    const json = (body: unknown) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (req.url === '/requests') return json(hub.requests.map((r) => r.path));
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
