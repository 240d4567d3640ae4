// Serves a folder with the Hugging Face Hub's URL layout, for e2e tests and for trying the
// app against a local hub: npx tsx scripts/hub-server.ts --root DIR --port N
//   [--host H] [--lfs-threshold BYTES] [--page-size N] [--cdn-host H]
import { parseArgs } from 'node:util';
import { startHubServer } from '../test/hubServer.ts';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'lfs-threshold': { type: 'string' },
    'page-size': { type: 'string' },
    'cdn-host': { type: 'string' },
  },
});
if (!values.root) {
  console.error('usage: npx tsx scripts/hub-server.ts --root DIR [--port N] [--host H] [--lfs-threshold BYTES] [--page-size N] [--cdn-host H]');
  process.exit(2);
}

const server = await startHubServer({
  root: values.root,
  port: Number(values.port),
  host: values.host,
  lfsThreshold: values['lfs-threshold'] === undefined ? undefined : Number(values['lfs-threshold']),
  treePageSize: values['page-size'] === undefined ? undefined : Number(values['page-size']),
  cdnHost: values['cdn-host'],
});
console.log(`hub server at ${server.url} serving ${values.root}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
