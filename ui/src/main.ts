/**
 * Entry point: inside the Tauri webview, start the app on the real engine. Outside
 * it, say so plainly; `?demo` runs the app on an in-memory engine instead (for
 * trying the UI in a browser; nothing is saved).
 */
import './styles.css';

import { insideTauri, tauriEngine } from './ipc';
import { renderNoEngine } from './ui/no-engine';

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');

if (insideTauri()) {
  const { startApp } = await import('./app');
  startApp(root, tauriEngine());
} else if (new URLSearchParams(location.search).has('demo')) {
  const [{ startApp }, { demoEngine }] = await Promise.all([import('./app'), import('./demo/demo-engine')]);
  const demo = demoEngine();
  startApp(root, demo.engine).store.dispatch({ type: 'select', id: demo.first });
} else {
  renderNoEngine(root);
}
