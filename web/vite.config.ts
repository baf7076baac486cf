/**
 * The explorer page (web/): `npm run web` serves it, `npm run build:web` writes static files
 * to dist-web/ (relative URLs: they work from any directory or host, file drop included).
 * The page imports the library's TypeScript sources directly (src/explore, src/kernels, ...)
 * and the toy fixture (fixtures/toy) as raw text, so the repository root must be readable.
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  clearScreen: false,
  build: {
    outDir: `${repo}dist-web`,
    emptyOutDir: true,
    target: 'es2022',
    // One page: keep the bundle whole (hysnappy's WASM stays inline).
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: { host: '127.0.0.1', fs: { allow: [repo] } },
  preview: { host: '127.0.0.1' },
});
