// A second origin serving broken model files, the way a mirror or another site would,
// so e2e tests see how the app reports each one. Started by playwright.config.ts.
import { createReadStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { writeBadModels } from '../test/badModels.ts';

const port = Number(process.argv[2] ?? 4174);
const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-bad-models-'));
await writeBadModels(dir);

createServer(async (req, res) => {
  // huggingface.co answers cross-origin fetches too; the app is on another port.
  res.setHeader('Access-Control-Allow-Origin', '*');
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(dir, path);
  const info = await stat(file).catch(() => undefined);
  if (path === '/') {
    res.end('bad models');
    return;
  }
  if (!info?.isFile()) {
    res.statusCode = 404;
    res.end('Not found');
    return;
  }
  res.setHeader('Content-Length', info.size);
  res.setHeader('Content-Type', 'application/octet-stream');
  createReadStream(file).pipe(res);
}).listen(port, () => console.log(`bad models on http://localhost:${port}`));
