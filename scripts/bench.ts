// npm run bench [-- --full] [--dawn] [--swiftshader] [--no-peers] [--no-e2e]
//
// Kernel and end-to-end benchmarks (docs/bench.md). By default the suite runs in headless
// Chromium on the machine's GPU (SwiftShader when Chromium finds none), with the WebGPU peers
// beside ours; --dawn runs it in Node on Dawn instead. llama.cpp (node-llama-cpp, CPU) runs on
// the same random-weight models afterwards. Writes bench/results/<date>-<runtime>-<adapter>.json
// and prints the markdown tables.
//   --full         every model shape, larger buffers and more samples: for real GPUs
//   --swiftshader  Chromium on SwiftShader even where a GPU is present
//   --no-peers     skip TF.js and onnxruntime-web
//   --no-e2e       kernels only
//   --no-kernels   the copy kernel and the end-to-end cases only
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright';
import { build, preview } from 'vite';
import { e2ePrompt, e2eSpecs } from '../src/bench/plan.ts';
import { formatResult, resultFileName } from '../src/bench/table.ts';
import type { BenchMode, BenchResult, E2eCase, LlamaCppPoint } from '../src/bench/types.ts';
import type { runSuite as RunSuite } from '../src/bench/suite.ts';
import type { PageRun, PocketBench } from '../src/bench/page.ts';
import { dawnGpu } from '../src/cli/dawn.ts';
import { fileSource } from '../src/cli/nodeFiles.ts';
import { chromiumArgs, chromiumPath } from '../test/chromium.ts';
import { randomLlamaGguf, storiesTokenizerMetadata } from './randomGguf.ts';

const ROOT = resolve(import.meta.dirname, '..');
// Inside node_modules so that the Dawn bundle's bare imports resolve against the project's packages.
const WORK = join(ROOT, 'node_modules/.cache/pocket-bench');
const RESULTS = join(ROOT, 'bench/results');
const PORT = 4180;
const SWIFTSHADER_FLAG = '--use-webgpu-adapter=swiftshader';
/** node-llama-cpp's threads: the two cores of the machines this project runs on. */
const LLAMA_THREADS = 2;

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    dawn: { type: 'boolean', default: false },
    swiftshader: { type: 'boolean', default: false },
    'no-peers': { type: 'boolean', default: false },
    'no-e2e': { type: 'boolean', default: false },
    'no-kernels': { type: 'boolean', default: false },
  },
});
const mode: BenchMode = values.full ? 'full' : 'quick';
const specs = values['no-e2e'] ? [] : e2eSpecs(mode);

async function writeModels(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tokenizer = await storiesTokenizerMetadata();
  for (const [i, s] of specs.entries()) {
    const bytes = randomLlamaGguf(tokenizer, {
      type: s.type,
      seed: i + 1,
      hiddenSize: s.hiddenSize,
      intermediateSize: s.intermediateSize,
      layers: s.layers,
      heads: s.heads,
      kvHeads: s.kvHeads,
      tied: true,
    });
    await writeFile(join(dir, s.file), bytes);
    console.log(`wrote ${s.file} (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  }
}

/** The suite bundled for Node by Vite (it imports WGSL with `?raw`), run on Dawn. */
async function runOnDawn(models: string): Promise<BenchResult> {
  const outDir = join(WORK, 'dawn');
  await build({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    build: {
      ssr: true,
      outDir,
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      rollupOptions: { input: { suite: 'src/bench/suite.ts' }, output: { entryFileNames: '[name].js' } },
    },
  });
  const { runSuite } = (await import(pathToFileURL(join(outDir, 'suite.js')).href)) as { runSuite: typeof RunSuite };
  return runSuite({
    gpu: await dawnGpu(),
    mode,
    runtime: 'dawn',
    kernels: !values['no-kernels'],
    e2e: specs.map((spec) => ({ spec, open: () => fileSource(join(models, spec.file)) })),
    log: (line) => console.log(line),
  });
}

async function openPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (msg) => console.log(msg.text()));
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  await page.goto(`http://127.0.0.1:${PORT}/bench.html`);
  await page.waitForFunction(() => 'pocketBench' in window);
  return page;
}

/**
 * Chromium on the machine's own GPU first; when it offers no adapter (a machine without one),
 * again on SwiftShader. The developer-features flag turns off the 100 µs rounding of timestamp
 * queries, and precise memory info makes performance.memory exact.
 */
async function launch(): Promise<{ browser: Browser; page: Page }> {
  const common = [...chromiumArgs.filter((a) => a !== SWIFTSHADER_FLAG), '--enable-webgpu-developer-features', '--enable-precise-memory-info'];
  const attempts = values.swiftshader ? [[...common, SWIFTSHADER_FLAG]] : [common, [...common, SWIFTSHADER_FLAG]];
  for (const args of attempts) {
    const browser = await chromium.launch({ executablePath: chromiumPath(), args });
    const page = await openPage(browser);
    const adapter = await page.evaluate(() => (window as unknown as { pocketBench: PocketBench }).pocketBench.adapter());
    if (adapter) {
      console.log(`Chromium adapter: ${adapter}${args.includes(SWIFTSHADER_FLAG) ? ' (forced SwiftShader)' : ''}`);
      return { browser, page };
    }
    await browser.close();
  }
  throw new Error('Chromium offers no WebGPU adapter, not even SwiftShader.');
}

async function runInChromium(models: string): Promise<BenchResult> {
  const outDir = join(WORK, 'page');
  await build({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    // Peer libraries ship their own wasm and large bundles; the page is never deployed.
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 20_000, rollupOptions: { input: join(ROOT, 'bench.html') } },
  });
  if (specs.length) {
    await rm(join(outDir, 'models'), { recursive: true, force: true });
    await mkdir(join(outDir, 'models'));
    for (const s of specs) await copyFile(join(models, s.file), join(outDir, 'models', s.file));
  }
  const server = await preview({ configFile: false, root: ROOT, logLevel: 'warn', build: { outDir }, preview: { port: PORT, strictPort: true, host: '127.0.0.1' } });
  try {
    const { browser, page } = await launch();
    try {
      const run: PageRun = { mode, peers: !values['no-peers'], e2e: specs.length > 0, kernels: !values['no-kernels'] };
      return await page.evaluate((o) => (window as unknown as { pocketBench: PocketBench }).pocketBench.run(o), run);
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
  }
}

/** llama.cpp on the CPU on the same file and prompt as ours: TTFT, then as many greedy tokens as ours decoded, EOS ignored. */
async function llamaCpp(path: string, e: E2eCase): Promise<LlamaCppPoint> {
  const backend = 'node-llama-cpp (llama.cpp, CPU)';
  try {
    const { getLlama } = await import('node-llama-cpp');
    // build: 'never' takes the prebuilt binary from npm: the machine cannot fetch llama.cpp's sources.
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: e.promptTokens + e.decodeTokens + 8, sequences: 1, threads: LLAMA_THREADS });
    try {
      const prompt = e2ePrompt(e.promptTokens, e.vocabSize, e.layers);
      const tokens = context.getSequence().evaluate(prompt as never, { temperature: 0 })[Symbol.asyncIterator]();
      const started = performance.now();
      await tokens.next();
      const ttftMs = performance.now() - started;
      const decodeStart = performance.now();
      for (let i = 0; i < e.decodeTokens; i++) await tokens.next();
      const decodeSeconds = (performance.now() - decodeStart) / 1000;
      await tokens.return?.(undefined);
      return {
        backend,
        threads: LLAMA_THREADS,
        ttftMs,
        prefillTokensPerSecond: e.promptTokens / (ttftMs / 1000),
        decodeTokensPerSecond: e.decodeTokens / decodeSeconds,
      };
    } finally {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    }
  } catch (err) {
    return { backend, skipped: (err as Error).message };
  }
}

async function main(): Promise<void> {
  const models = join(WORK, 'models');
  await writeModels(models);
  const result = values.dawn ? await runOnDawn(models) : await runInChromium(models);
  for (const e of result.e2e) {
    console.log(`llama.cpp on ${e.file} …`);
    e.llamaCpp = await llamaCpp(join(models, e.file), e);
  }
  await mkdir(RESULTS, { recursive: true });
  const file = join(RESULTS, resultFileName(result));
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${formatResult(result)}`);
  console.log(`wrote ${file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
