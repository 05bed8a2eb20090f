// Runs the pinned Tauri CLI for this repository's layout: the app's Cargo package and
// the one `tauri.conf.json` are at the repository root, the front end is here in ui/.
// `npm --prefix ui run tauri -- build` (or `npm run tauri -- build` inside ui/) works
// the same from any folder and on every platform.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { run } from '@tauri-apps/cli';

const ui = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.env.TAURI_APP_PATH = resolve(ui, '..');
process.env.TAURI_FRONTEND_PATH = ui;

run(process.argv.slice(2), 'npm run tauri').catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
