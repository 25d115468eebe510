/** Vite build of the web client. `npm run dev` proxies the WebSocket to a local `parley serve`. */
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const server = process.env.PARLEY_DEV_SERVER ?? 'http://127.0.0.1:8080';

/**
 * The SDK chunk is imported dynamically so the shell paints first; a modulepreload link lets the
 * browser fetch it (and the chunks it imports) while the entry chunk is still being evaluated.
 */
function preloadEngine(): Plugin {
  return {
    name: 'parley-preload-engine',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, context) {
        const bundle = context.bundle;
        if (!bundle) return [];
        const engine = Object.values(bundle).find((chunk) => chunk.type === 'chunk' && chunk.isDynamicEntry && chunk.name === 'controller');
        if (!engine || engine.type !== 'chunk') return [];
        const entries = new Set(Object.values(bundle).flatMap((chunk) => (chunk.type === 'chunk' && chunk.isEntry ? [chunk.fileName] : [])));
        return [engine.fileName, ...engine.imports.filter((file) => !entries.has(file))].map((file) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: '', href: `/${file}` }, injectTo: 'head' as const }));
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), preloadEngine()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // The SDK chunk carries OPAQUE's WASM inlined as base64 (~430 kB); it loads after first paint.
    chunkSizeWarningLimit: 1200,
  },
  worker: {
    format: 'es',
    // The proof-of-work worker needs only `solvePow` (hashing) from the SDK: keep just the modules
    // that provide what it uses, not OPAQUE's WASM and the rest the SDK's entry pulls in.
    rolldownOptions: { treeshake: { moduleSideEffects: false } },
  },
  server: {
    proxy: {
      '/v1/ws': { target: server.replace(/^http/, 'ws'), ws: true },
      '/healthz': { target: server },
    },
  },
});
