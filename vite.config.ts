import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, defineConfig, type Connect, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA, type VitePWAOptions } from 'vite-plugin-pwa';
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
  // An extension starts with a letter: /Qwen/Qwen2.5-0.5B-Instruct is a model page, not a file.
  return /\.[A-Za-z][A-Za-z0-9]*$/.test(last) && !last.endsWith('.html');
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

/** The SDK bundled on its own: one ES module with its few imports (messages, errors) inlined. */
async function bundleSdk(entry: string): Promise<string> {
  const result = await build({
    configFile: false,
    root: import.meta.dirname,
    publicDir: false,
    logLevel: 'warn',
    build: { write: false, target: 'es2022', lib: { entry, formats: ['es'], fileName: 'pocket-hub' } },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => ('output' in r ? r.output : []));
  const chunks = outputs.filter((o) => o.type === 'chunk');
  if (chunks.length !== 1) throw new Error(`The SDK must bundle into one module, got ${chunks.length}.`);
  return chunks[0].code;
}

/**
 * The JS SDK at a stable address, /sdk/pocket-hub.js, for other sites and static Spaces to
 * import (docs/sdk.md). It is bundled on its own, not as an entry of the app's build: an entry
 * there would share chunks (with hashed names) with the app and lose its exports to tree-shaking.
 * The dev server bundles it on request and again after a change to the files it is made of.
 */
function sdkModule(): Plugin {
  const entry = resolve(import.meta.dirname, 'src/sdk/pocketHub.ts');
  const sources = [resolve(import.meta.dirname, 'src/sdk'), resolve(import.meta.dirname, 'src/protocol')];
  let bundled: Promise<string> | undefined;
  const bundle = () => (bundled ??= bundleSdk(entry));
  return {
    name: 'pocket-hub:sdk-module',
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'sdk/pocket-hub.js', source: await bundle() });
    },
    configureServer(server) {
      server.watcher.on('all', (_event, file) => {
        if (sources.some((dir) => file.startsWith(dir))) bundled = undefined;
      });
      server.middlewares.use('/sdk/pocket-hub.js', (_req, res, next) => {
        bundle().then(
          (code) => {
            // Imported from any origin, static Spaces' opaque one ('null') included. Only this
            // public module is opened up; the rest of the dev server keeps Vite's CORS default.
            res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache' });
            res.end(code);
          },
          (err: unknown) => {
            bundled = undefined;
            next(err);
          },
        );
      });
    },
  };
}

/**
 * Where the app's hubs may live: huggingface.co and its CDN hosts, any https mirror the user adds
 * in Settings (src/store/hubEndpoints.ts accepts any https address), and hubs on this machine over
 * plain http, which Settings accepts for loopback only. A static build cannot know the mirrors, so
 * the scheme is allowed rather than a host list. `[::1]` is left out: CSP source expressions have
 * no syntax for IPv6 literals, and Chromium reports one as an invalid source.
 */
const HUB_SOURCES = ['https:', 'http://localhost:*', 'http://127.0.0.1:*'];

/**
 * The production build's Content-Security-Policy (docs/security.md). No inline script and no
 * eval: every script is a file the build emitted. Nothing the app ships compiles WebAssembly, so
 * 'wasm-unsafe-eval' stays out (the bench page's wllama is served by the dev server only).
 */
const CONTENT_SECURITY_POLICY: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  // Stylesheets are files; React's `style` props go through the CSSOM, which CSP does not govern.
  'style-src': ["'self'"],
  // Model cards show images from wherever their author put them (Markdown.tsx allows http(s) only).
  'img-src': ["'self'", ...HUB_SOURCES],
  // The engine worker reads repos from the hubs; the LFS redirects land on their CDNs.
  'connect-src': ["'self'", ...HUB_SOURCES],
  // Static Spaces: their app_file, at its hub, in a sandboxed iframe (src/sdk/StaticSpaceFrame.tsx).
  'frame-src': ["'self'", ...HUB_SOURCES],
  // The engine worker and the service worker, both files of the build.
  'worker-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  // Every form of the app is handled by script; none submits anywhere.
  'form-action': ["'none'"],
};

const CSP_HEADER_VALUE = Object.entries(CONTENT_SECURITY_POLICY)
  .map(([directive, sources]) => `${directive} ${sources.join(' ')}`)
  .join('; ');

/**
 * Response headers for static hosts that read a `_headers` file (Netlify, Cloudflare Pages), by
 * path pattern (`*` matches any rest of the path). A policy delivered in a <meta> tag binds the
 * document only: a worker takes its policy from the headers of its own script, so the scripts get
 * the same policy as a header. Documents are not listed: the pages carry the <meta>, and a `/*`
 * rule would also reach static Spaces' pages under /hub/, whose inline scripts are theirs to run.
 *
 * No frame-ancestors anywhere: /embed/… and /sdk/host.html must be framable by any site, and
 * every route is the same index.html (the host's SPA fallback, and the service worker's single
 * precached copy), so no header can frame /embed/… and refuse /settings.
 */
const STATIC_HOST_HEADERS: { path: string; headers: Record<string, string> }[] = [
  { path: '/*', headers: { 'X-Content-Type-Options': 'nosniff' } },
  { path: '/assets/*', headers: { 'Content-Security-Policy': CSP_HEADER_VALUE } },
  { path: '/sw.js', headers: { 'Content-Security-Policy': CSP_HEADER_VALUE } },
];

function headersFor(pathname: string): Record<string, string> {
  const matches = STATIC_HOST_HEADERS.filter(({ path }) => (path.endsWith('*') ? pathname.startsWith(path.slice(0, -1)) : pathname === path));
  return Object.assign({}, ...matches.map((rule) => rule.headers));
}

/**
 * The policy in every page of the build, ahead of every script and stylesheet so that it binds
 * them, and `_headers` for the hosts that read one. The preview
 * server sends those headers too, so the e2e tests run under them. The dev server stays without
 * a policy: React Refresh injects an inline script there.
 */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'pocket-hub:content-security-policy',
    // `vite preview` resolves its config as a 'serve' command, so the dev server is told apart by isPreview.
    apply: (_config, env) => env.command === 'build' || env.isPreview === true,
    transformIndexHtml(html, context) {
      // Right after the charset, which must come within the page's first 1024 bytes. The policy
      // has no double quotes, and frame-ancestors and report-uri (ignored in a <meta>) are not in it.
      const charset = /<meta charset="[^"]*"\s*\/?>/i;
      if (!charset.test(html)) throw new Error(`${context.filename} has no <meta charset> to put the Content-Security-Policy after`);
      return html.replace(charset, (tag) => `${tag}\n    <meta http-equiv="Content-Security-Policy" content="${CSP_HEADER_VALUE}" />`);
    },
    generateBundle() {
      const rules = STATIC_HOST_HEADERS.map(({ path, headers }) => [path, ...Object.entries(headers).map(([k, v]) => `  ${k}: ${v}`)].join('\n'));
      this.emitFile({ type: 'asset', fileName: '_headers', source: `${rules.join('\n')}\n` });
    },
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        const pathname = requestPath(req);
        if (pathname) for (const [name, value] of Object.entries(headersFor(pathname))) res.setHeader(name, value);
        next();
      });
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

/**
 * The installable app (docs/pwa.md): a web manifest, and a service worker that precaches the
 * app and the embedded hub's small files, so that a model run once loads and runs offline. Its
 * weights are not here: the engine worker keeps them in IndexedDB, and a service worker must
 * not buffer gigabytes.
 */
const pwaOptions: Partial<VitePWAOptions> = {
  // A new build waits for the user's "Reload" (src/components/UpdatePrompt.tsx): taking over by
  // itself would swap the code under a running chat or download.
  registerType: 'prompt',
  // UpdatePrompt registers the worker through virtual:pwa-register/react.
  injectRegister: false,
  manifest: {
    name: 'Pocket Hub',
    short_name: 'Pocket Hub',
    description: 'Run open-weights language models on your own GPU, in the browser, with WebGPU.',
    start_url: '/',
    scope: '/',
    display: 'standalone',
    // styles.css's light --bg; the dark one comes from index.html's media-specific theme-color.
    theme_color: '#ffffff',
    background_color: '#ffffff',
    // Made from public/favicon.svg by scripts/make-icons.ts.
    icons: [
      { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
      { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
      { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  },
  workbox: {
    // The manifest and its icons are added by the plugin (includeManifestIcons). 'hub/**/*' takes
    // the hub's API answers too, which have no extension; the hub's files are emitted in
    // generateBundle, so they are in dist/ when the precache list is made (closeBundle).
    globPatterns: ['**/*.{html,js,css,svg,woff2}', 'hub/**/*'],
    globIgnores: ['hub/**/*.gguf', 'hub/**/*.safetensors'],
    // Workbox's default, stated because it is what keeps any other large file out: a bigger one
    // is left out of the precache with a warning in the build's output.
    maximumFileSizeToCacheInBytes: 2 * 2 ** 20,
    // HubClient asks for a tree as `tree/<commit>?recursive=true&expand=false`; the static hub has
    // one answer per commit, precached without the query.
    ignoreURLParametersMatching: [/^utm_/, /^fbclid$/, /^recursive$/, /^expand$/],
    // The first visit is served by the worker as soon as it is installed, so the hub answers it
    // fetches from huggingface.co are kept for offline use from then on. Later versions still
    // wait for the prompt: clientsClaim acts only once a worker is active.
    clientsClaim: true,
    navigateFallback: 'index.html',
    navigateFallbackDenylist: [
      /^\/hub\//,
      /^\/sdk\//,
      // A last path segment with an extension names a file. An extension starts with a letter,
      // so model pages such as /Qwen/Qwen2.5-0.5B-Instruct or /x/TinyLlama-1.1B stay routes.
      /^[^?]*\/[^/?]*\.[A-Za-z][A-Za-z0-9]*(?:\?|$)/,
    ],
    runtimeCaching: [
      {
        // Model pages seen once render offline: the Hub's API answers and the small files they
        // show, fresh when the network answers within a few seconds. Weights (LFS files, their
        // CDN's other origins) and Range requests never match: those go straight to the network.
        // Serialised into sw.js, so it must refer to nothing outside itself.
        urlPattern: ({ url, request }) =>
          url.origin === 'https://huggingface.co' &&
          !request.headers.has('Range') &&
          (url.pathname.startsWith('/api/') || /\/resolve\/[^/]+\/(?:.+\/)?(?:README\.md|config\.json|tokenizer_config\.json)$/.test(url.pathname)),
        handler: 'NetworkFirst',
        options: {
          cacheName: 'hub-metadata',
          // Long enough for the Hub on a slow connection, short enough that a dead one falls back to the copy soon.
          networkTimeoutSeconds: 4,
          cacheableResponse: { statuses: [200] },
          expiration: { maxEntries: 500, maxAgeSeconds: 30 * 24 * 60 * 60, purgeOnQuotaError: true },
        },
      },
    ],
  },
};

export default defineConfig({
  plugins: [react(), embeddedHub(), sdkModule(), missingFilesAre404(), printChatUrl(), contentSecurityPolicy(), VitePWA(pwaOptions)],
  // 'spa' (the default, stated here because deep links such as /chat?model=… rely on it):
  // dev and preview serve index.html for unknown extension-less paths.
  appType: 'spa',
  build: {
    // Every browser with WebGPU runs ES2022; older syntax lowering would only cost size.
    target: 'es2022',
    rolldownOptions: {
      // /sdk/host.html: the page the SDK opens in a hidden iframe on other sites (src/sdk/hostPage.ts).
      input: { main: resolve(import.meta.dirname, 'index.html'), sdkHost: resolve(import.meta.dirname, 'sdk/host.html') },
    },
  },
  preview: {
    // The SDK module, the /sdk/host page and static Spaces' files are fetched from other origins,
    // and from static Spaces' opaque origin ('null'), which Vite's default (localhost only) refuses.
    // The build is public static files, so every origin may read them, as GitHub Pages allows
    // for every file it serves; other static hosts need the same header on /sdk/ and /hub/.
    cors: { origin: '*' },
  },
  worker: {
    // The engine worker is created with { type: 'module' }, and code-split module workers need ES output.
    format: 'es',
  },
});
