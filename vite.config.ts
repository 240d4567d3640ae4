import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig, type Connect, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { buildStaticHub, staticHubHandler } from './scripts/staticHub.ts';

/** The decoded pathname of a request, or undefined when it cannot be decoded. */
function requestPath(req: Connect.IncomingMessage): string | undefined {
  try {
    return decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    return undefined;
  }
}

/** A path whose last segment has an extension names a file; `/chat` or `/models/x/` name routes and folders. */
function namesFile(pathname: string): boolean {
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  return last.includes('.') && !last.endsWith('.html');
}

/** Answers 404 for the requests `isMissing` picks, and lets the rest through. */
function notFoundWhen(isMissing: (pathname: string) => boolean): Connect.NextHandleFunction {
  return (req, res, next) => {
    const pathname = requestPath(req);
    if (!pathname || !isMissing(pathname)) return next();
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('Not found');
  };
}

/**
 * The SPA fallback answers any GET that accepts `*\/*` with index.html, and `fetch` sends exactly
 * that: a missing `/models/x.gguf` would come back as 200 + HTML, and the engine would call it a
 * corrupt model instead of a missing one. Static hosts answer 404 for a missing file, so these
 * servers do too, leaving extension-less paths (the app's routes) to the fallback.
 */
function missingFilesAre404(): Plugin {
  let outDir = '';
  let publicDir = '';
  return {
    name: 'pocket-hub:missing-files-404',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
      publicDir = config.publicDir;
    },
    configurePreviewServer(server) {
      // Everything under /hub/ is a file of the embedded hub, its API answers included.
      const isFile = (pathname: string) => namesFile(pathname) || pathname.startsWith('/hub/');
      server.middlewares.use(notFoundWhen((pathname) => isFile(pathname) && !existsSync(join(outDir, pathname))));
    },
    configureServer(server) {
      // In dev most files are modules served from src/ or virtual ids, so only folders that
      // come from public/ (the embedded hub: /models/…) are checked.
      const publicFolders = new Set(
        publicDir && existsSync(publicDir)
          ? readdirSync(publicDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
          : [],
      );
      server.middlewares.use(
        notFoundWhen(
          (pathname) => publicFolders.has(pathname.split('/')[1]) && namesFile(pathname) && !existsSync(join(publicDir, pathname)),
        ),
      );
    },
  };
}

/**
 * The embedded hub (scripts/staticHub.ts): the repos under hub/ emitted into dist/hub/ with
 * the Hub's URL layout, and served from memory by the dev server, rebuilt when they change.
 */
function embeddedHub(): Plugin {
  const source = resolve(import.meta.dirname, 'hub');
  let built: Promise<Map<string, Uint8Array>> | undefined;
  const files = () => (built ??= buildStaticHub(source));
  return {
    name: 'pocket-hub:embedded-hub',
    async generateBundle() {
      for (const [path, bytes] of await files()) this.emitFile({ type: 'asset', fileName: `hub/${path}`, source: bytes });
    },
    configureServer(server) {
      server.watcher.add(source);
      server.watcher.on('all', (_event, file) => {
        if (file.startsWith(source)) built = undefined;
      });
      server.middlewares.use(staticHubHandler(files));
    },
  };
}

/** `npm start` prints where the chat page is, next to Vite's own address lines. */
function printChatUrl(): Plugin {
  return {
    name: 'pocket-hub:print-chat-url',
    configurePreviewServer(server) {
      server.httpServer.once('listening', () =>
        // resolvedUrls is filled in right after 'listening'.
        setImmediate(() => {
          for (const url of server.resolvedUrls?.local ?? []) server.config.logger.info(`  ➜  Chat:    ${url}chat`);
        }),
      );
    },
  };
}

export default defineConfig({
  plugins: [react(), embeddedHub(), missingFilesAre404(), printChatUrl()],
  // 'spa' (the default, stated here because deep links such as /chat?model=… rely on it):
  // dev and preview serve index.html for unknown extension-less paths.
  appType: 'spa',
  build: {
    // Every browser with WebGPU runs ES2022; older syntax lowering would only cost size.
    target: 'es2022',
  },
  worker: {
    // The engine worker is created with { type: 'module' }, and code-split module workers need ES output.
    format: 'es',
  },
});
