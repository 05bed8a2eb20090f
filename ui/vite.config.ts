/**
 * Vite builds the front end into ui/dist, which tauri.conf.json (`build.frontendDist`)
 * embeds; `npm run dev` serves it on a fixed port for a Tauri `devUrl`. Vitest reads
 * the `test` block: Node by default, happy-dom for files that ask for it.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Relative asset paths work from tauri://localhost and from a file.
  base: './',
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  envPrefix: ['VITE_', 'TAURI_ENV_'],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The webviews Tauri 2 runs on: WebView2 (Chromium), WKWebView, WebKitGTK.
    target: ['es2022', 'chrome105', 'safari15'],
    // One local bundle loaded from disk by the app, not over a network: CodeMirror with
    // Markdown (which embeds the HTML, CSS and JS grammars) plus Yjs is ~650 kB.
    chunkSizeWarningLimit: 800,
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
