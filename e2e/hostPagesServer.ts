// Pages of "another site" for the embed and SDK specs: e2e/hostPages/ served on HOST_PAGES_PORT
// (the site that embeds Pocket Hub or imports its SDK) and on STRANGER_PORT (a third origin
// that tries to command an embed it does not own), and on SPACES_HUB_PORT a hub holding
// NO_EMBED_SPACE, a Space whose author turned embedding off. Started by playwright.config.ts.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubServer } from '../test/hubServer.ts';

export const HOST_PAGES_PORT = 4177;
export const STRANGER_PORT = 4178;
export const SPACES_HUB_PORT = 4179;
export const NO_EMBED_SPACE = 'e2e-hub/no-embed';

const NO_EMBED_README = `---
title: No Embed
emoji: 🔒
sdk: static
app_file: index.html
models:
  - pocket-hub/stories260K-GGUF
disable_embedding: true
license: mit
---

A Space that may only be used on its own page.
`;

const root = join(import.meta.dirname, 'hostPages');

function serve(port: number): Promise<void> {
  const server = createServer(async (req, res) => {
    // Only the files in the folder, by name: no paths, so nothing outside it can be asked for.
    const name = basename(new URL(req.url ?? '/', 'http://localhost').pathname) || 'index.html';
    const body = await readFile(join(root, name)).catch(() => undefined);
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': name.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
  });
  return new Promise((ready) => server.listen(port, 'localhost', ready));
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'pocket-hub-e2e-spaces-'));
  const space = join(root, 'spaces', NO_EMBED_SPACE);
  await mkdir(space, { recursive: true });
  await writeFile(join(space, 'README.md'), NO_EMBED_README);
  await writeFile(join(space, 'index.html'), '<!doctype html><title>No Embed</title><p>Only on its own page.</p>');
  await Promise.all([serve(HOST_PAGES_PORT), serve(STRANGER_PORT), startHubServer({ root, port: SPACES_HUB_PORT })]);
  console.log(`host pages on http://localhost:${HOST_PAGES_PORT} and http://localhost:${STRANGER_PORT}, a hub on ${SPACES_HUB_PORT}`);
}

// The spec imports the constants above; only running the file starts the servers.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
