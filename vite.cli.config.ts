import { defineConfig } from 'vite';

// The CLI runs the same engine sources in Node. Building it with Vite keeps `?raw`
// shader imports working exactly as in the browser bundle.
export default defineConfig({
  build: {
    ssr: true,
    outDir: 'dist-cli',
    target: 'node20',
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    rollupOptions: { input: { generate: 'src/cli/generate.ts', score: 'src/cli/score.ts' }, output: { entryFileNames: '[name].js' } },
  },
  logLevel: 'warn',
});
