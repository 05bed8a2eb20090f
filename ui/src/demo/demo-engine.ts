/**
 * The in-memory engine with a few sample documents and one pretend collaborator, for
 * trying the UI in a plain browser (`?demo`).
 */
import type { EngineApi } from '../ipc';
import { MemoryEngine } from './memory-engine';

/** The demo engine, and the document to open first. */
export function demoEngine(): { engine: EngineApi; first: string } {
  const engine = new MemoryEngine();
  const welcome = engine.create(
    'Welcome',
    '# Welcome to Quire\n\nQuire keeps your **Markdown** notes on your own devices and syncs them *directly*.\n\n- Ctrl/Cmd+N: new document\n- Ctrl/Cmd+K: search\n- Ctrl/Cmd+H: history\n- Ctrl/Cmd+Shift+S: share\n\n> This demo runs in memory: nothing is saved.\n',
  );
  engine.create('Meeting notes', '## Sync meeting\n\n1. Relay on the VPS\n2. Read-only links for the newsletter\n\n`quire join quire://…`\n');
  const api = engine.connect();
  setTimeout(() => {
    engine.presence(welcome, 'peer-ada', { name: 'Ada', color: '#e6194b', cursor: { anchor: 20, head: 27 }, typing: false });
    engine.setSyncStatus({ mode: 'lan', peers: 1, pending: 0 });
  }, 300);
  return { engine: api, first: welcome };
}
